/*
 * store.c - herald's database: SQLite (a file in the data folder, the
 * default) or PostgreSQL (several hosts on one database, store_pg.c).
 *
 * The schema lives here as two ordered lists of migrations with the SAME
 * numbering: store_migrations (SQLite) and store_migrations_pg
 * (PostgreSQL), one entry each per step, so a new step appends one entry
 * to each list (a static assertion keeps their lengths equal). The
 * PostgreSQL entry says the same thing in PostgreSQL's types (BIGINT ids
 * drawn from a sequence, BYTEA, DOUBLE PRECISION); everything else the
 * store says is one text for both (store_pg.c translates the spelling).
 * SQLite counts the steps a file has in PRAGMA user_version, PostgreSQL
 * in the table schema_version. herald init applies the missing ones
 * (each in its own transaction, so a failure leaves the database at a
 * known version; on PostgreSQL under an advisory lock, so two hosts'
 * init never migrate at once); every other command refuses a database
 * that is behind or ahead.
 *
 * Migration 1: lists, subscribers, their attributes, memberships and the
 * event log. A subscriber's attributes live twice: as a JSON object in
 * subscribers.attrs (read whole: show, export, templates; or as rows
 * through the subscriber_attributes view) and as the segment index
 * (since migration 6: attribute_values numbers each (key, value) pair,
 * attribute_members holds (pair, subscriber), and the view
 * attributes(key, value, subscriber_id) joins them for segment queries);
 * subscriber.c keeps the two equal and is the only writer of either. Each
 * status change is an event, except that an import logs one event for the
 * whole file; memberships.channel says through which channel the last
 * change came. Later migrations add campaigns and deliveries, inbound mail
 * (replies, pending confirmations) and bounces. Never edit a migration that
 * has shipped: append a new one (to both lists).
 *
 * SQLite connection settings: WAL (readers never block the writer, so
 * herald pipe runs beside herald send), busy_timeout (a writer waits,
 * then TEMP), foreign_keys on, synchronous NORMAL (durable at checkpoints
 * under WAL; a power loss may lose the last transactions, never corrupt
 * the file), or FULL with STORE_OPEN_DURABLE (the WAL is synced at every
 * commit: herald pipe, whose exit 0 lets the MTA delete its copy).
 * PostgreSQL: synchronous_commit on for every connection.
 */
#include <errno.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "herald.h"
#include "store.h"
#include "config.h"
#include "store_sqlite.h"
#include "store_backend.h"


static const char *const store_migrations[] = {
	/* 1: the foundation */
	"CREATE TABLE lists ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created INTEGER NOT NULL DEFAULT (unixepoch()));"
	"CREATE TABLE subscribers ("
	"  id INTEGER PRIMARY KEY,"
	"  email TEXT NOT NULL,"		/* as given */
	"  email_key TEXT NOT NULL,"	/* local part as given, domain lowercased */
	"  name TEXT,"
	"  attrs TEXT NOT NULL DEFAULT '{}',"	/* JSON object: key -> string */
	"  created INTEGER NOT NULL DEFAULT (unixepoch()));"
	/* named, so that an import into an empty table can build it last */
	"CREATE UNIQUE INDEX subscribers_email_key ON subscribers(email_key);"
	/* the segment index: one row per (attribute, subscriber), the same
	 * pairs as subscribers.attrs, kept in step by subscriber.c alone */
	"CREATE TABLE attributes ("
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  subscriber_id INTEGER NOT NULL,"
	"  PRIMARY KEY (key, value, subscriber_id)) WITHOUT ROWID;"
	/* one subscriber's attributes, as rows */
	"CREATE VIEW subscriber_attributes(subscriber_id, key, value) AS"
	"  SELECT s.id, j.key, j.value FROM subscribers s, json_each(s.attrs) j;"
	"CREATE TABLE memberships ("
	"  list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,"
	"  status TEXT NOT NULL CHECK (status IN"
	"    ('pending','active','unsubscribed','disabled','blocklisted')),"
	"  subscribed INTEGER NOT NULL DEFAULT (unixepoch()),"	/* joined (or asked to) */
	"  changed INTEGER NOT NULL DEFAULT (unixepoch()),"	/* last status change */
	"  channel TEXT NOT NULL DEFAULT 'cli',"	/* ... and through which channel */
	"  PRIMARY KEY (list_id, subscriber_id)) WITHOUT ROWID;"
	"CREATE INDEX memberships_subscriber ON memberships(subscriber_id);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL DEFAULT (unixepoch()),"
	"  list_id INTEGER REFERENCES lists(id) ON DELETE SET NULL,"
	"  subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  action TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX events_subscriber ON events(subscriber_id, at);",

	/* 2: campaigns and deliveries (herald send). A campaign is one
	 * announcement sent to segments of one list; its deliveries are the
	 * snapshot of recipients taken when it was created, one row each,
	 * ending sent or failed, or still queued (with next_attempt). The
	 * lock of a running sender is a flock on a file in data_dir, not a
	 * row here, so a kill -9 never leaves it stale. */
	"CREATE TABLE campaigns ("
	"  id INTEGER PRIMARY KEY,"
	"  list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  announcement TEXT NOT NULL,"		/* the path as given, made absolute */
	"  segments TEXT NOT NULL,"		/* names, comma-separated, in order */
	"  state TEXT NOT NULL DEFAULT 'created' CHECK (state IN"
	"    ('created','sending','paused','waiting','done','cancelled')),"
	"  reason TEXT,"			/* why paused or cancelled */
	"  created INTEGER NOT NULL DEFAULT (unixepoch()),"
	"  started INTEGER,"			/* first message attempted */
	"  finished INTEGER,"			/* last row left the queue */
	"  sending_seconds REAL NOT NULL DEFAULT 0);"	/* for the rate */
	"CREATE TABLE deliveries ("
	"  id INTEGER PRIMARY KEY,"
	"  campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
	"  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,"
	"  segment TEXT NOT NULL,"		/* the first campaign segment matched */
	"  matched TEXT NOT NULL DEFAULT '',"	/* every list segment matched, a,b,c */
	"  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
	"    ('queued','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0,"	/* unix time it is due */
	"  first_attempt INTEGER,"		/* max_age counts from here */
	"  last_attempt INTEGER,"
	"  code INTEGER,"			/* last SMTP reply code, 0: none (connection) */
	"  reply TEXT,"				/* last reply text, or why none */
	"  stage TEXT,"				/* connect mail rcpt data, or skipped compose */
	"  UNIQUE (campaign_id, subscriber_id));"
	"CREATE INDEX deliveries_queue ON deliveries(campaign_id, state, id);"
	"CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);",

	/* 3: inbound mail (herald pipe): replies and owner mail, pending
	 * confirmations, complaints, and the bounces handed over to the
	 * bounce module. digest is the SHA-256 of the raw message: an MTA
	 * that delivers a message twice (a retry after exit 75) finds it. */
	"CREATE TABLE replies ("
	"  id INTEGER PRIMARY KEY,"
	"  received INTEGER NOT NULL DEFAULT (unixepoch()),"
	"  list_id INTEGER REFERENCES lists(id) ON DELETE SET NULL,"
	"  route TEXT NOT NULL,"		/* reply | owner */
	"  kind TEXT NOT NULL,"		/* reply | autoreply | unsubscribe | loop */
	"  envelope_from TEXT,"
	"  from_addr TEXT,"
	"  from_name TEXT,"
	"  subject TEXT,"
	"  message_id TEXT,"
	"  in_reply_to TEXT,"
	"  campaign_id INTEGER,"		/* the announcement replied to */
	"  subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  forwarded INTEGER NOT NULL DEFAULT 0,"	/* 1 once the owners have it */
	"  size INTEGER NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  raw BLOB NOT NULL);"
	"CREATE INDEX replies_list ON replies(list_id, received);"
	"CREATE INDEX replies_campaign ON replies(campaign_id, received);"
	"CREATE INDEX replies_digest ON replies(digest);"
	"CREATE TABLE confirmations ("
	"  list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,"
	"  action TEXT NOT NULL CHECK (action IN ('subscribe','unsubscribe')),"
	"  requested INTEGER NOT NULL DEFAULT (unixepoch()),"	/* last request */
	"  sent INTEGER NOT NULL DEFAULT 0,"		/* confirmations mailed */
	"  PRIMARY KEY (list_id, subscriber_id, action)) WITHOUT ROWID;"
	"CREATE TABLE complaints ("
	"  id INTEGER PRIMARY KEY,"
	"  received INTEGER NOT NULL DEFAULT (unixepoch()),"
	"  list_id INTEGER REFERENCES lists(id) ON DELETE SET NULL,"
	"  subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  delivery_id INTEGER,"
	"  feedback_type TEXT,"
	"  user_agent TEXT,"
	"  reporter TEXT,"			/* the envelope sender of the report */
	"  recipient TEXT,"			/* the complained-of address as reported */
	"  digest TEXT NOT NULL,"
	"  raw BLOB NOT NULL);"
	"CREATE INDEX complaints_subscriber ON complaints(subscriber_id);"
	"CREATE INDEX complaints_digest ON complaints(digest);"
	"CREATE TABLE inbound_bounces ("
	"  id INTEGER PRIMARY KEY,"
	"  received INTEGER NOT NULL DEFAULT (unixepoch()),"
	"  list_id INTEGER REFERENCES lists(id) ON DELETE SET NULL,"
	"  subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  delivery_id INTEGER,"		/* from the VERP token, 0 when none */
	"  token TEXT,"			/* the verified token, NULL when none */
	"  envelope_from TEXT,"
	"  mail_id INTEGER,"		/* bounce_mail row (migration 4) holding it */
	"  digest TEXT NOT NULL);"	/* the same bytes again are not counted twice */
	"CREATE INDEX inbound_bounces_digest ON inbound_bounces(digest);",

	/*
	 * 4: bounces and bounce scores (bounce_policy.c). Reserved position
	 * 4: renumber if it lands before 2 and 3. delivery_id and campaign_id
	 * name rows of migration 2 but carry no foreign key, so this one
	 * stands alone; bounces outlive the deliveries they name.
	 */
	/* a returned message as received: headers to see it again, the raw
	 * bytes up to BOUNCE_POLICY_RAW_MAX */
	"CREATE TABLE bounce_mail ("
	"  id INTEGER PRIMARY KEY,"
	"  received INTEGER NOT NULL,"
	"  list_id INTEGER REFERENCES lists(id) ON DELETE CASCADE,"
	"  message_id TEXT, from_addr TEXT, subject TEXT, date TEXT,"
	"  headers TEXT,"			/* the top-level header block */
	"  method TEXT,"			/* the classifier's shape: dsn, qmail… */
	"  raw BLOB, raw_size INTEGER NOT NULL);"
	/* one row per failed recipient of a message (or one with no address
	 * when none was found), and one per synchronous 5xx */
	"CREATE TABLE bounces ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  delivery_id INTEGER,"
	"  campaign_id INTEGER,"
	"  mail_id INTEGER REFERENCES bounce_mail(id) ON DELETE SET NULL,"
	"  source TEXT NOT NULL CHECK (source IN ('verp','content','sync')),"
	"  address TEXT,"			/* as reported, lowercase */
	"  kind TEXT NOT NULL CHECK (kind IN ('hard','soft','unknown')),"
	"  status TEXT,"			/* enhanced status code */
	"  reason TEXT NOT NULL,"		/* bounce_reason_name() */
	"  diagnostic TEXT,"			/* the remote reply */
	"  action TEXT NOT NULL,"		/* what herald did with it */
	"  scored REAL NOT NULL DEFAULT 0);"	/* what it added to the score */
	"CREATE INDEX bounces_member ON bounces(list_id, subscriber_id, at);"
	"CREATE INDEX bounces_campaign ON bounces(campaign_id);"
	/* the current score of a membership (one period: it starts again
	 * when stale) and, once disabled, the warnings sent */
	"CREATE TABLE bounce_scores ("
	"  list_id INTEGER NOT NULL,"
	"  subscriber_id INTEGER NOT NULL,"
	"  score REAL NOT NULL DEFAULT 0,"
	"  hard INTEGER NOT NULL DEFAULT 0,"	/* hard bounces in the score */
	"  first_at INTEGER NOT NULL,"		/* first scored bounce */
	"  last_at INTEGER NOT NULL,"		/* last scored bounce */
	"  last_day INTEGER NOT NULL,"		/* its UTC day (unix time / 86400) */
	"  day_score REAL NOT NULL,"		/* what that day added */
	"  disabled_at INTEGER,"
	"  warnings_sent INTEGER NOT NULL DEFAULT 0,"
	"  last_warning_at INTEGER,"
	"  PRIMARY KEY (list_id, subscriber_id),"
	"  FOREIGN KEY (list_id, subscriber_id) REFERENCES"
	"    memberships(list_id, subscriber_id) ON DELETE CASCADE) WITHOUT ROWID;"
	/* owner notices and warnings, queued in the transaction that caused
	 * them and sent after it */
	"CREATE TABLE bounce_notices ("
	"  id INTEGER PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  kind TEXT NOT NULL,"
	"  recipients TEXT NOT NULL,"		/* addresses, one per line */
	"  subject TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'queued'"
	"    CHECK (state IN ('queued','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  sent INTEGER,"
	"  error TEXT);"
	"CREATE INDEX bounce_notices_state ON bounce_notices(state, id);"
	/* content bounces name addresses in lowercase */
	"CREATE INDEX subscribers_email_lower ON subscribers(lower(email_key));",

	/* 5: that index holds only the keys that lowercasing changes (a
	 * lowercase address is found by the unique index): a bulk import
	 * builds it from a handful of rows, not a million */
	"DROP INDEX subscribers_email_lower;"
	STORE_SQL_EMAIL_LOWER_INDEX ";",

	/* 6: the segment index keeps each (attribute, value) pair once, and
	 * per subscriber only the pair's number: an import inserts two
	 * integers per attribute, not two strings into a B-tree ordered by
	 * them (2.3 M index rows: 3.1 s -> 1.3 s). "attributes" stays, as a
	 * view, for the segment queries. Pairs no subscriber has any more
	 * may stay behind: they match nobody. */
	"CREATE TABLE attribute_values ("
	"  id INTEGER PRIMARY KEY,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  UNIQUE (key, value));"
	"CREATE TABLE attribute_members ("
	"  value_id INTEGER NOT NULL,"
	"  subscriber_id INTEGER NOT NULL,"
	"  PRIMARY KEY (value_id, subscriber_id)) WITHOUT ROWID;"
	"INSERT INTO attribute_values(key, value)"
	"  SELECT DISTINCT key, value FROM attributes ORDER BY key, value;"
	"INSERT INTO attribute_members(value_id, subscriber_id)"
	"  SELECT v.id, a.subscriber_id FROM attributes a"
	"  JOIN attribute_values v ON v.key = a.key AND v.value = a.value"
	"  ORDER BY 1, 2;"
	"DROP TABLE attributes;"
	"CREATE VIEW attributes(key, value, subscriber_id) AS"
	"  SELECT v.key, v.value, m.subscriber_id FROM attribute_members m"
	"  JOIN attribute_values v ON v.id = m.value_id;",

	/* 7: the outbox (outbox.c): notices queued in the transaction of
	 * the change they tell of (a goodbye with its unsubscribe), sent
	 * after the commit, retried until sent or failed. next_attempt is
	 * also the claim of the run that is sending the row. */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  list_id INTEGER REFERENCES lists(id) ON DELETE CASCADE,"
	/* a purged subscriber (sub rm --purge) takes their notices along:
	 * they hold the address, and nobody erased should get mail */
	"  subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"		/* goodbye, confirm-subscribe, forward… */
	"  envelope_from TEXT NOT NULL,"
	"  recipients TEXT NOT NULL,"		/* addresses, one per line */
	"  message BLOB NOT NULL,"		/* RFC 5322, CRLF */
	"  state TEXT NOT NULL DEFAULT 'queued'"
	"    CHECK (state IN ('queued','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL,"	/* due then, or claimed until then */
	"  finished INTEGER,"			/* sent or given up */
	"  error TEXT);"			/* the relay's last words */
	"CREATE INDEX outbox_due ON outbox(state, next_attempt);",

	/* 8: scheduled campaigns (schedule.c). scheduled_at is when the
	 * campaign may start (NULL: an unscheduled one, sent by herald send
	 * in the foreground); send_window its sending window in the list's
	 * zone ("Mon-Fri 09:00-17:00", NULL: any time); daily_cap the most
	 * messages a day (0: no cap). A scheduled campaign's deliveries not
	 * yet released to the queue are held with next_attempt =
	 * CAMPAIGN_HELD (year 9999). */
	"ALTER TABLE campaigns ADD COLUMN scheduled_at INTEGER;"
	"ALTER TABLE campaigns ADD COLUMN send_window TEXT;"
	"ALTER TABLE campaigns ADD COLUMN daily_cap INTEGER NOT NULL DEFAULT 0;",
	/* 9: the relay pool (relay.c). deliveries.relay names the relay
	 * that last tried a delivery; relay_usage counts what each relay
	 * accepted per minute (the quotas' sliding windows, across runs and
	 * processes); relay_state is each relay's last known state. */
	"ALTER TABLE deliveries ADD COLUMN relay TEXT;"
	"CREATE TABLE relay_usage ("
	"  relay TEXT NOT NULL,"
	"  minute INTEGER NOT NULL,"		/* unix time / 60 */
	"  sent INTEGER NOT NULL,"
	"  PRIMARY KEY (relay, minute)) WITHOUT ROWID;"
	"CREATE TABLE relay_state ("
	"  relay TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"		/* up, down, at quota */
	"  reason TEXT,"
	"  since INTEGER NOT NULL);",
	/* 10: engagement (issue 25; portable SQL, times bound from C).
	 * links: every tracked link of a campaign's copy for a segment (''
	 * for none); campaign 0 holds the links of test copies and dry runs.
	 * track_counts: clicks (ref_id a link) and opens (ref_id a campaign)
	 * per minute, person or machine (a scanner, a prefetch), per
	 * delivery in per-subscriber mode, delivery 0 in aggregate mode.
	 * erased: a salted hash of each address erased at its owner's
	 * request, per list it was on, so an import does not add it back. */
	"CREATE TABLE links ("
	"  id INTEGER PRIMARY KEY,"
	"  campaign_id INTEGER NOT NULL,"
	"  segment TEXT NOT NULL,"
	"  url TEXT NOT NULL,"
	"  UNIQUE (campaign_id, segment, url));"
	"CREATE TABLE track_counts ("
	"  kind TEXT NOT NULL CHECK (kind IN ('click','open')),"
	"  ref_id INTEGER NOT NULL,"
	"  delivery_id INTEGER NOT NULL,"
	"  minute INTEGER NOT NULL,"		/* unix time / 60 */
	"  machine INTEGER NOT NULL,"		/* 1: a scanner's, not a person's */
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, ref_id, delivery_id, minute, machine));"
	"CREATE INDEX track_counts_delivery ON track_counts(delivery_id);"
	"CREATE TABLE erased ("
	"  list_id INTEGER NOT NULL,"
	"  hash TEXT NOT NULL,"			/* hex HMAC-SHA256 of the address */
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (list_id, hash));",
	/* 11: the subject a campaign went out with (herald send renders it
	 * for its first segment and no one in particular: report and
	 * campaign show name it); NULL for a campaign made before */
	"ALTER TABLE campaigns ADD COLUMN subject TEXT;",
	/* 12: chunk claims (store_claims.c): the run that holds a queued
	 * delivery and until when, and once it is sent or failed, the run
	 * that sent it. Only PostgreSQL writes them (several hosts share a
	 * campaign); on SQLite they stay NULL. */
	"ALTER TABLE deliveries ADD COLUMN claim_owner TEXT;"
	"ALTER TABLE deliveries ADD COLUMN claim_until INTEGER;",
	/* 13: a relay's minute may be counted in several rows (slot): on
	 * PostgreSQL each connection that records a campaign's results
	 * counts into a row of its own (campaign_batch.c), so the sending
	 * threads' commits do not wait for each other on one row; a window
	 * sums them. SQLite has one writer and keeps slot 0. */
	"CREATE TABLE relay_usage_slots ("
	"  relay TEXT NOT NULL,"
	"  minute INTEGER NOT NULL,"
	"  slot INTEGER NOT NULL DEFAULT 0,"
	"  sent INTEGER NOT NULL,"
	"  PRIMARY KEY (relay, minute, slot)) WITHOUT ROWID;"
	"INSERT INTO relay_usage_slots(relay, minute, slot, sent)"
	"  SELECT relay, minute, 0, sent FROM relay_usage;"
	"DROP TABLE relay_usage;"
	"ALTER TABLE relay_usage_slots RENAME TO relay_usage;",
};


/*
 * The same steps for PostgreSQL, numbered as above: entry N here is
 * migration N there. Types: ids are BIGINT from a sequence (bigserial),
 * every other INTEGER is BIGINT (unix times past 2038, CAMPAIGN_HELD),
 * REAL is DOUBLE PRECISION, BLOB is BYTEA; WITHOUT ROWID has no
 * counterpart. Step 1 also creates what the store's shared SQL expects
 * of the engine: schema_version, the functions SQLite has built in
 * (unixepoch, json_each over text, json_extract, json_patch, datetime,
 * two-argument min and max, group_concat, sum of truth values, glob, instr,
 * pragma_table_info),
 * store_session_seq (store_pg.c's lastval), and store_sync_id, which
 * moves a table's sequence past ids written explicitly (the import's
 * subscribers).
 */
#define PG_SYNC_ID(t) \
	"CREATE TRIGGER " t "_sync_id AFTER INSERT ON " t \
	"  FOR EACH STATEMENT EXECUTE FUNCTION store_sync_id();"

static const char *const store_migrations_pg[] = {
	/* 1: the foundation, and the engine's side of the shared SQL */
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES (0);"
	"CREATE SEQUENCE store_session_seq;"
	"CREATE FUNCTION unixepoch() RETURNS BIGINT LANGUAGE sql STABLE AS"
	"  $$SELECT extract(epoch FROM clock_timestamp())::bigint$$;"
	"CREATE FUNCTION json_each(text) RETURNS TABLE (key TEXT, value TEXT)"
	"  LANGUAGE sql IMMUTABLE AS $$SELECT * FROM json_each_text($1::json)$$;"
	"CREATE FUNCTION json_extract(text, text) RETURNS TEXT LANGUAGE sql"
	"  IMMUTABLE AS $$SELECT ($1::json) ->> btrim(substr($2, 3), '\"')$$;"
	/* json_patch of two flat objects as SQLite writes it: compact, the
	 * keys in their first order, the patch's new keys after, a null
	 * value removes the key */
	"CREATE FUNCTION json_patch(text, text) RETURNS TEXT LANGUAGE sql"
	"  IMMUTABLE AS $$WITH a AS (SELECT key, value::jsonb AS v, n FROM"
	"  json_each(coalesce($1, '{}')::json) WITH ORDINALITY t(key, value, n)),"
	"  p AS (SELECT key, value::jsonb AS v, n FROM json_each($2::json)"
	"  WITH ORDINALITY t(key, value, n)),"
	"  m AS (SELECT coalesce(p.key, a.key) AS key, coalesce(p.v, a.v) AS v,"
	"  coalesce(a.n, 1000000000 + p.n) AS n FROM a FULL JOIN p"
	"  ON a.key = p.key)"
	"  SELECT '{' || coalesce(string_agg(to_json(key)::text || ':' ||"
	"  v::text, ',' ORDER BY n), '') || '}' FROM m"
	"  WHERE v <> 'null'::jsonb$$;"
	"CREATE FUNCTION datetime(bigint, text) RETURNS TEXT LANGUAGE sql"
	"  IMMUTABLE AS $$SELECT to_char(to_timestamp($1) AT TIME ZONE 'UTC',"
	"  'YYYY-MM-DD HH24:MI:SS')$$;"
	"CREATE FUNCTION min(bigint, bigint) RETURNS BIGINT LANGUAGE sql"
	"  IMMUTABLE AS $$SELECT least($1, $2)$$;"
	"CREATE FUNCTION max(bigint, bigint) RETURNS BIGINT LANGUAGE sql"
	"  IMMUTABLE AS $$SELECT greatest($1, $2)$$;"
	/* group_concat(x [, separator]) as SQLite has it */
	"CREATE FUNCTION store_concat(text, text, text) RETURNS TEXT"
	"  LANGUAGE sql IMMUTABLE AS $$SELECT CASE WHEN $2 IS NULL THEN $1"
	"  WHEN $1 IS NULL THEN $2 ELSE $1 || $3 || $2 END$$;"
	"CREATE FUNCTION store_concat(text, text) RETURNS TEXT"
	"  LANGUAGE sql IMMUTABLE AS $$SELECT store_concat($1, $2, ',')$$;"
	"CREATE AGGREGATE group_concat(text, text) (SFUNC = store_concat,"
	"  STYPE = text);"
	"CREATE AGGREGATE group_concat(text) (SFUNC = store_concat,"
	"  STYPE = text);"
	/* sum(truth): SQLite counts the true ones */
	"CREATE FUNCTION store_sum_bool(bigint, boolean) RETURNS BIGINT"
	"  LANGUAGE sql IMMUTABLE AS $$SELECT coalesce($1, 0)"
	"  + CASE WHEN $2 THEN 1 ELSE 0 END$$;"
	"CREATE AGGREGATE sum(boolean) (SFUNC = store_sum_bool, STYPE = bigint);"
	"CREATE FUNCTION pragma_table_info(text) RETURNS TABLE (name TEXT)"
	"  LANGUAGE sql STABLE AS $$SELECT column_name::text FROM"
	"  information_schema.columns WHERE table_name = $1"
	"  AND table_schema = current_schema()$$;"
	/* GLOB's pattern as an anchored regular expression: * ? and [...]
	 * keep their meaning, every other special character is literal */
	"CREATE FUNCTION store_glob_re(text) RETURNS TEXT LANGUAGE sql"
	"  IMMUTABLE AS $$SELECT '^' || replace(replace(regexp_replace($1,"
	"  '([.+(){}^$|\\\\])', '\\\\\\1', 'g'), '*', '.*'), '?', '.') || '$'$$;"
	"CREATE FUNCTION instr(text, text) RETURNS INTEGER LANGUAGE sql"
	"  IMMUTABLE AS $$SELECT strpos($1, $2)$$;"
	"CREATE FUNCTION glob(text, text) RETURNS BOOLEAN LANGUAGE sql"
	"  IMMUTABLE AS $$SELECT $2 ~ store_glob_re($1)$$;"
	"CREATE FUNCTION store_sync_id() RETURNS trigger LANGUAGE plpgsql AS $$"
	"DECLARE seq TEXT := pg_get_serial_sequence(TG_TABLE_NAME, 'id');"
	"BEGIN EXECUTE format('SELECT setval(%L, greatest((SELECT"
	"  coalesce(max(id), 1) FROM %I), (SELECT last_value FROM %s)))',"
	"  seq, TG_TABLE_NAME, seq); RETURN NULL; END $$;"
	"CREATE TABLE lists ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created BIGINT NOT NULL DEFAULT unixepoch());"
	"CREATE TABLE subscribers ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  email TEXT NOT NULL,"
	"  email_key TEXT NOT NULL,"
	"  name TEXT,"
	"  attrs TEXT NOT NULL DEFAULT '{}',"
	"  created BIGINT NOT NULL DEFAULT unixepoch());"
	PG_SYNC_ID("subscribers")
	"CREATE UNIQUE INDEX subscribers_email_key ON subscribers(email_key);"
	"CREATE TABLE attributes ("
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  subscriber_id BIGINT NOT NULL,"
	"  PRIMARY KEY (key, value, subscriber_id));"
	"CREATE VIEW subscriber_attributes(subscriber_id, key, value) AS"
	"  SELECT s.id, j.key, j.value FROM subscribers s, json_each(s.attrs) j;"
	"CREATE TABLE memberships ("
	"  list_id BIGINT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id BIGINT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,"
	"  status TEXT NOT NULL CHECK (status IN"
	"    ('pending','active','unsubscribed','disabled','blocklisted')),"
	"  subscribed BIGINT NOT NULL DEFAULT unixepoch(),"
	"  changed BIGINT NOT NULL DEFAULT unixepoch(),"
	"  channel TEXT NOT NULL DEFAULT 'cli',"
	"  PRIMARY KEY (list_id, subscriber_id));"
	"CREATE INDEX memberships_subscriber ON memberships(subscriber_id);"
	"CREATE TABLE events ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  at BIGINT NOT NULL DEFAULT unixepoch(),"
	"  list_id BIGINT REFERENCES lists(id) ON DELETE SET NULL,"
	"  subscriber_id BIGINT REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  action TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX events_subscriber ON events(subscriber_id, at);",

	/* 2: campaigns and deliveries. A campaign's id is the next after
	 * the highest, as SQLite numbers it (a rolled-back "herald send"
	 * leaves no gap in what the manager sees), under a lock so two
	 * hosts never take the same */
	"CREATE FUNCTION store_campaign_id() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$BEGIN PERFORM pg_advisory_xact_lock(7243002);"
	"  IF NEW.id IS NULL THEN"
	"  NEW.id := (SELECT coalesce(max(id), 0) + 1 FROM campaigns); END IF;"
	"  RETURN NEW; END $$;"
	"CREATE TABLE campaigns ("
	"  id BIGINT PRIMARY KEY,"
	"  list_id BIGINT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  announcement TEXT NOT NULL,"
	"  segments TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'created' CHECK (state IN"
	"    ('created','sending','paused','waiting','done','cancelled')),"
	"  reason TEXT,"
	"  created BIGINT NOT NULL DEFAULT unixepoch(),"
	"  started BIGINT,"
	"  finished BIGINT,"
	"  sending_seconds DOUBLE PRECISION NOT NULL DEFAULT 0);"
	"CREATE TRIGGER campaigns_id BEFORE INSERT ON campaigns"
	"  FOR EACH ROW EXECUTE FUNCTION store_campaign_id();"
	"CREATE TABLE deliveries ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
	"  subscriber_id BIGINT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,"
	"  segment TEXT NOT NULL,"
	"  matched TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
	"    ('queued','sent','failed')),"
	"  attempts BIGINT NOT NULL DEFAULT 0,"
	"  next_attempt BIGINT NOT NULL DEFAULT 0,"
	"  first_attempt BIGINT,"
	"  last_attempt BIGINT,"
	"  code BIGINT,"
	"  reply TEXT,"
	"  stage TEXT,"
	"  UNIQUE (campaign_id, subscriber_id));"
	"CREATE INDEX deliveries_queue ON deliveries(campaign_id, state, id);"
	"CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);",

	/* 3: inbound mail */
	"CREATE TABLE replies ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  received BIGINT NOT NULL DEFAULT unixepoch(),"
	"  list_id BIGINT REFERENCES lists(id) ON DELETE SET NULL,"
	"  route TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  envelope_from TEXT,"
	"  from_addr TEXT,"
	"  from_name TEXT,"
	"  subject TEXT,"
	"  message_id TEXT,"
	"  in_reply_to TEXT,"
	"  campaign_id BIGINT,"
	"  subscriber_id BIGINT REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  forwarded BIGINT NOT NULL DEFAULT 0,"
	"  size BIGINT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  raw BYTEA NOT NULL);"
	"CREATE INDEX replies_list ON replies(list_id, received);"
	"CREATE INDEX replies_campaign ON replies(campaign_id, received);"
	"CREATE INDEX replies_digest ON replies(digest);"
	"CREATE TABLE confirmations ("
	"  list_id BIGINT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id BIGINT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,"
	"  action TEXT NOT NULL CHECK (action IN ('subscribe','unsubscribe')),"
	"  requested BIGINT NOT NULL DEFAULT unixepoch(),"
	"  sent BIGINT NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (list_id, subscriber_id, action));"
	"CREATE TABLE complaints ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  received BIGINT NOT NULL DEFAULT unixepoch(),"
	"  list_id BIGINT REFERENCES lists(id) ON DELETE SET NULL,"
	"  subscriber_id BIGINT REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  delivery_id BIGINT,"
	"  feedback_type TEXT,"
	"  user_agent TEXT,"
	"  reporter TEXT,"
	"  recipient TEXT,"
	"  digest TEXT NOT NULL,"
	"  raw BYTEA NOT NULL);"
	"CREATE INDEX complaints_subscriber ON complaints(subscriber_id);"
	"CREATE INDEX complaints_digest ON complaints(digest);"
	"CREATE TABLE inbound_bounces ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  received BIGINT NOT NULL DEFAULT unixepoch(),"
	"  list_id BIGINT REFERENCES lists(id) ON DELETE SET NULL,"
	"  subscriber_id BIGINT REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  delivery_id BIGINT,"
	"  token TEXT,"
	"  envelope_from TEXT,"
	"  mail_id BIGINT,"
	"  digest TEXT NOT NULL);"
	"CREATE INDEX inbound_bounces_digest ON inbound_bounces(digest);",

	/* 4: bounces and bounce scores */
	"CREATE TABLE bounce_mail ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  received BIGINT NOT NULL,"
	"  list_id BIGINT REFERENCES lists(id) ON DELETE CASCADE,"
	"  message_id TEXT, from_addr TEXT, subject TEXT, date TEXT,"
	"  headers TEXT,"
	"  method TEXT,"
	"  raw BYTEA, raw_size BIGINT NOT NULL);"
	"CREATE TABLE bounces ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  at BIGINT NOT NULL,"
	"  list_id BIGINT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id BIGINT REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  delivery_id BIGINT,"
	"  campaign_id BIGINT,"
	"  mail_id BIGINT REFERENCES bounce_mail(id) ON DELETE SET NULL,"
	"  source TEXT NOT NULL CHECK (source IN ('verp','content','sync')),"
	"  address TEXT,"
	"  kind TEXT NOT NULL CHECK (kind IN ('hard','soft','unknown')),"
	"  status TEXT,"
	"  reason TEXT NOT NULL,"
	"  diagnostic TEXT,"
	"  action TEXT NOT NULL,"
	"  scored DOUBLE PRECISION NOT NULL DEFAULT 0);"
	"CREATE INDEX bounces_member ON bounces(list_id, subscriber_id, at);"
	"CREATE INDEX bounces_campaign ON bounces(campaign_id);"
	"CREATE TABLE bounce_scores ("
	"  list_id BIGINT NOT NULL,"
	"  subscriber_id BIGINT NOT NULL,"
	"  score DOUBLE PRECISION NOT NULL DEFAULT 0,"
	"  hard BIGINT NOT NULL DEFAULT 0,"
	"  first_at BIGINT NOT NULL,"
	"  last_at BIGINT NOT NULL,"
	"  last_day BIGINT NOT NULL,"
	"  day_score DOUBLE PRECISION NOT NULL,"
	"  disabled_at BIGINT,"
	"  warnings_sent BIGINT NOT NULL DEFAULT 0,"
	"  last_warning_at BIGINT,"
	"  PRIMARY KEY (list_id, subscriber_id),"
	"  FOREIGN KEY (list_id, subscriber_id) REFERENCES"
	"    memberships(list_id, subscriber_id) ON DELETE CASCADE);"
	"CREATE TABLE bounce_notices ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  created BIGINT NOT NULL,"
	"  list_id BIGINT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id BIGINT REFERENCES subscribers(id) ON DELETE SET NULL,"
	"  kind TEXT NOT NULL,"
	"  recipients TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'queued'"
	"    CHECK (state IN ('queued','sent','failed')),"
	"  attempts BIGINT NOT NULL DEFAULT 0,"
	"  sent BIGINT,"
	"  error TEXT);"
	"CREATE INDEX bounce_notices_state ON bounce_notices(state, id);"
	"CREATE INDEX subscribers_email_lower ON subscribers(lower(email_key));",

	/* 5: the partial index of addresses that lowercasing changes */
	"DROP INDEX subscribers_email_lower;"
	STORE_SQL_EMAIL_LOWER_INDEX ";",

	/* 6: the segment index as numbered pairs */
	"CREATE TABLE attribute_values ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  UNIQUE (key, value));"
	"CREATE TABLE attribute_members ("
	"  value_id BIGINT NOT NULL,"
	"  subscriber_id BIGINT NOT NULL,"
	"  PRIMARY KEY (value_id, subscriber_id));"
	"INSERT INTO attribute_values(key, value)"
	"  SELECT DISTINCT key, value FROM attributes ORDER BY key, value;"
	"INSERT INTO attribute_members(value_id, subscriber_id)"
	"  SELECT v.id, a.subscriber_id FROM attributes a"
	"  JOIN attribute_values v ON v.key = a.key AND v.value = a.value"
	"  ORDER BY 1, 2;"
	"DROP TABLE attributes;"
	"CREATE VIEW attributes(key, value, subscriber_id) AS"
	"  SELECT v.key, v.value, m.subscriber_id FROM attribute_members m"
	"  JOIN attribute_values v ON v.id = m.value_id;",

	/* 7: the outbox */
	"CREATE TABLE outbox ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  created BIGINT NOT NULL,"
	"  list_id BIGINT REFERENCES lists(id) ON DELETE CASCADE,"
	"  subscriber_id BIGINT REFERENCES subscribers(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  envelope_from TEXT NOT NULL,"
	"  recipients TEXT NOT NULL,"
	"  message BYTEA NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'queued'"
	"    CHECK (state IN ('queued','sent','failed')),"
	"  attempts BIGINT NOT NULL DEFAULT 0,"
	"  next_attempt BIGINT NOT NULL,"
	"  finished BIGINT,"
	"  error TEXT);"
	"CREATE INDEX outbox_due ON outbox(state, next_attempt);",

	/* 8: scheduled campaigns */
	"ALTER TABLE campaigns ADD COLUMN scheduled_at BIGINT;"
	"ALTER TABLE campaigns ADD COLUMN send_window TEXT;"
	"ALTER TABLE campaigns ADD COLUMN daily_cap BIGINT NOT NULL DEFAULT 0;",

	/* 9: the relay pool */
	"ALTER TABLE deliveries ADD COLUMN relay TEXT;"
	"CREATE TABLE relay_usage ("
	"  relay TEXT NOT NULL,"
	"  minute BIGINT NOT NULL,"
	"  sent BIGINT NOT NULL,"
	"  PRIMARY KEY (relay, minute));"
	"CREATE TABLE relay_state ("
	"  relay TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  reason TEXT,"
	"  since BIGINT NOT NULL);",

	/* 10: engagement: tracked links, click and open counts, erased
	 * addresses (see the SQLite list) */
	"CREATE TABLE links ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  campaign_id BIGINT NOT NULL,"
	"  segment TEXT NOT NULL,"
	"  url TEXT NOT NULL,"
	"  UNIQUE (campaign_id, segment, url));"
	"CREATE TABLE track_counts ("
	"  kind TEXT NOT NULL CHECK (kind IN ('click','open')),"
	"  ref_id BIGINT NOT NULL,"
	"  delivery_id BIGINT NOT NULL,"
	"  minute BIGINT NOT NULL,"
	"  machine BIGINT NOT NULL,"
	"  n BIGINT NOT NULL,"
	"  PRIMARY KEY (kind, ref_id, delivery_id, minute, machine));"
	"CREATE INDEX track_counts_delivery ON track_counts(delivery_id);"
	"CREATE TABLE erased ("
	"  list_id BIGINT NOT NULL,"
	"  hash TEXT NOT NULL,"
	"  at BIGINT NOT NULL,"
	"  PRIMARY KEY (list_id, hash));",

	/* 11: the subject a campaign went out with */
	"ALTER TABLE campaigns ADD COLUMN subject TEXT;",

	/* 12: chunk claims (see the SQLite list); the partial index finds
	 * a run's queued rows for its renewal and release */
	"ALTER TABLE deliveries ADD COLUMN claim_owner TEXT;"
	"ALTER TABLE deliveries ADD COLUMN claim_until BIGINT;"
	"CREATE INDEX deliveries_claimed ON deliveries(claim_owner,"
	"  campaign_id) WHERE state = 'queued' AND claim_owner IS NOT NULL;",

	/* 13: relay_usage's slot (see the SQLite list) */
	"ALTER TABLE relay_usage ADD COLUMN slot BIGINT NOT NULL DEFAULT 0;"
	"ALTER TABLE relay_usage DROP CONSTRAINT relay_usage_pkey;"
	"ALTER TABLE relay_usage ADD PRIMARY KEY (relay, minute, slot);",
};

G_STATIC_ASSERT(G_N_ELEMENTS(store_migrations_pg) ==
    G_N_ELEMENTS(store_migrations));

#define STORE_NMIGRATIONS ((int)G_N_ELEMENTS(store_migrations))

/* store_schema_latest - the version this binary writes */
int
store_schema_latest(void)
{
	return STORE_NMIGRATIONS;
}

/* store_exec - see store.h: the backend runs SQL */
gboolean
store_exec(struct store *store, const char *sql, GError **error)
{
	return store->ops->exec(store, sql, error);
}

/* store_schema_version - the backend's schema version, -1 on error */
int
store_schema_version(struct store *store)
{
	return store->ops->schema_version(store);
}

/* store_migration - the SQL of migration N (from 1) for STORE's backend */
static const char *
store_migration(const struct store *store, int n)
{
	return store->ops == &store_pg_backend ? store_migrations_pg[n - 1] :
	    store_migrations[n - 1];
}

/* store_check_version - the database's schema is the one this binary
 * writes: older says "run herald init", newer says the binary is too old
 * (on PostgreSQL a CONFIG error: the hosts of one database run one
 * version, and the mail waits while they do not) */
static gboolean
store_check_version(struct store *store, GError **error)
{
	int version = store_schema_version(store);

	if (version < 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "%s: cannot read the schema version", store->path);
		return FALSE;
	}
	if (version > STORE_NMIGRATIONS) {
		g_set_error(error, HERALD_ERROR, store->pg != NULL ?
		    HERALD_ERROR_CONFIG : HERALD_ERROR_SOFTWARE,
		    "%s: the database has schema version %d, newer than this "
		    "herald knows (%d); run a newer herald", store->path, version,
		    STORE_NMIGRATIONS);
		return FALSE;
	}
	if (version < STORE_NMIGRATIONS) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: the database has schema version %d, this herald needs "
		    "%d; run \"herald init\" to upgrade it", store->path, version,
		    STORE_NMIGRATIONS);
		return FALSE;
	}
	return TRUE;
}

/* store_open_with - a connection through the backend WHERE names (a
 * file: SQLite; "postgresql:CONNINFO": PostgreSQL, PASSWORD may be
 * NULL); the table of operations is chosen here, so no caller knows
 * which runs. Then the schema version checked unless CREATE. */
static struct store *
store_open_with(const char *where, const char *password, int flags,
    GError **error)
{
	g_autoptr(store) store = g_new0(struct store, 1);

	store->path = g_strdup(where);
	store->ops = &store_sqlite_backend;
	if (g_str_has_prefix(where, STORE_PG_PREFIX)) {
		store->ops = &store_pg_backend;
		where += strlen(STORE_PG_PREFIX);
	}
	store->password = g_strdup(password);
	if (!store->ops->open(store, where, flags, error)) {
		g_clear_pointer(&store->password, g_free);
		return NULL;
	}
	g_clear_pointer(&store->password, g_free);
	if (flags & STORE_OPEN_CREATE)
		return g_steal_pointer(&store);
	if (!store_check_version(store, error))
		return NULL;
	return g_steal_pointer(&store);
}

/* store_open - see store.h */
struct store *
store_open(const char *path, int flags, GError **error)
{
	return store_open_with(path, NULL, flags, error);
}

/* store_read_password - the first line of FILE, which nobody but its
 * owner (and group) may read */
static char *
store_read_password(const char *file, GError **error)
{
	g_autofree char *text = NULL;
	struct stat st;

	if (stat(file, &st) != 0 || !g_file_get_contents(file, &text, NULL,
	    NULL)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "store password_file %s: %s", file, g_strerror(errno));
		return NULL;
	}
	if (st.st_mode & 0007) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "store password_file %s: others may read it (mode %04o);"
		    " chmod 0600 it", file, (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	return g_steal_pointer(&text);
}

/* store_open_config - see store.h */
struct store *
store_open_config(const struct config *config, int flags, GError **error)
{
	g_autofree char *password = NULL;
	struct store *store;

	if (config->store_password_file != NULL &&
	    (password = store_read_password(config->store_password_file,
	    error)) == NULL)
		return NULL;
	store = store_open_with(config->database, password, flags, error);
	if (password != NULL)
		memset(password, 0, strlen(password));
	/* the backends open with the default; a pragma takes no parameter,
	 * and PostgreSQL reads this one as its lock_timeout */
	if (store != NULL && config->store_busy_timeout > 0 &&
	    config->store_busy_timeout != CONFIG_BUSY_TIMEOUT_DEFAULT) {
		g_autofree char *busy = g_strdup_printf(
		    "PRAGMA busy_timeout = %d",
		    config->store_busy_timeout * 1000);

		if (!store_exec(store, busy, error))
			g_clear_pointer(&store, store_close);
	}
	return store;
}

/* store_backend_name - see store.h */
const char *
store_backend_name(const struct store *store)
{
	return store->ops->name;
}

/* store_has - see store.h */
gboolean
store_has(const struct store *store, enum store_trait trait)
{
	return (store->ops->traits & trait) != 0;
}

/* store_id_list - see store.h */
char *
store_id_list(const struct store *store, const gint64 *ids, guint n)
{
	gboolean arrays = store_has(store, STORE_ARRAYS);
	GString *a = g_string_new(arrays ? "{" : "[");
	guint i;

	for (i = 0; i < n; i++)
		g_string_append_printf(a, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
		    ids[i]);
	g_string_append_c(a, arrays ? '}' : ']');
	return g_string_free(a, FALSE);
}

/* store_close - close the connection (the backend finalizes what it
 * cached; a statement still open is the caller's to finish) */
void
store_close(struct store *store)
{
	if (store == NULL)
		return;
	g_clear_pointer(&store->cached, g_hash_table_unref);
	store_queries_clear(store);
	if (store->ops != NULL)
		store->ops->close(store);
	g_free(store->path);
	g_free(store);
}

/* store_migrate - bring the file to the latest schema */
gboolean
store_migrate(struct store *store, int *applied, GError **error)
{
	return store_migrate_to(store, STORE_NMIGRATIONS, applied, error);
}

/* store_migrate_one - migration N and the version it leaves, inside the
 * transaction the caller began; committed, or rolled back on failure */
static gboolean
store_migrate_one(struct store *store, int n, GError **error)
{
	g_autofree char *bump = g_strdup_printf(store->ops->version_sql, n);

	if (!store_exec(store, store_migration(store, n), error) ||
	    !store_exec(store, bump, error)) {
		g_prefix_error(error, "migration %d: ", n);
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
}

/* store_migrate_to - apply the migrations up to version TARGET (tests
 * build an older file with it, to check the step up from there); each
 * reads the version again inside its transaction, after the backend's
 * lock (another host may have migrated meanwhile) */
gboolean
store_migrate_to(struct store *store, int target, int *applied,
    GError **error)
{
	int version, n = 0;

	if (applied != NULL)
		*applied = 0;
	for (;;) {
		if (!store_begin(store, error))
			return FALSE;
		if (store->ops->lock_sql != NULL &&
		    !store_exec(store, store->ops->lock_sql, error)) {
			store_rollback(store);
			return FALSE;
		}
		version = store_schema_version(store);
		if (version < 0 || version > STORE_NMIGRATIONS) {
			store_rollback(store);
			if (version < 0)
				g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
				    "%s: cannot read the schema version",
				    store->path);
			else
				g_set_error(error, HERALD_ERROR,
				    HERALD_ERROR_CONFIG, "%s: the database has "
				    "schema version %d, newer than this herald "
				    "knows (%d)", store->path, version,
				    STORE_NMIGRATIONS);
			return FALSE;
		}
		if (version >= MIN(target, STORE_NMIGRATIONS)) {
			store_rollback(store);
			break;
		}
		if (!store_migrate_one(store, version + 1, error))
			return FALSE;
		n++;
	}
	if (applied != NULL)
		*applied = n;
	return TRUE;
}

/* store_begin - start (or nest into) a write transaction; inside a group
 * (store_group_begin) the outermost begin is a savepoint instead */
gboolean
store_begin(struct store *store, GError **error)
{
	if (store->depth > store->floor) {
		store->depth++;
		return TRUE;
	}
	if (!store_exec(store, store->floor > 0 ? "SAVEPOINT herald_unit" :
	    "BEGIN IMMEDIATE", error)) {
		store->depth = store->floor;
		return FALSE;
	}
	store->depth++;
	return TRUE;
}

/* store_in_transaction - see store.h */
gboolean
store_in_transaction(const struct store *store)
{
	return store->depth > 0;
}

/* store_commit - commit (in a group: release the savepoint) when the
 * outermost begin ends */
gboolean
store_commit(struct store *store, GError **error)
{
	g_return_val_if_fail(store->depth > store->floor, FALSE);
	if (--store->depth > store->floor)
		return TRUE;
	if (!store_exec(store, store->floor > 0 ? "RELEASE herald_unit" :
	    "COMMIT", error)) {
		store->depth++;
		store_rollback(store);
		return FALSE;
	}
	return TRUE;
}

/* store_rollback - abandon the whole transaction, however deep; in a
 * group, what was done since the outermost begin (the group's earlier
 * work stays) */
void
store_rollback(struct store *store)
{
	gboolean open = store->depth > store->floor;

	store->depth = store->floor;
	if (!store->ops->in_transaction(store))
		return;
	if (store->floor == 0)
		(void)store->ops->exec(store, "ROLLBACK", NULL);
	else if (open)
		(void)store->ops->exec(store, "ROLLBACK TO herald_unit;"
		    " RELEASE herald_unit", NULL);
}

/* store_group_begin - see store.h */
gboolean
store_group_begin(struct store *store, GError **error)
{
	g_return_val_if_fail(store->depth == 0, FALSE);
	if (!store_begin(store, error))
		return FALSE;
	store->floor = 1;
	return TRUE;
}

/* store_group_lost - see store.h */
gboolean
store_group_lost(struct store *store)
{
	return store->floor > 0 && !store->ops->in_transaction(store);
}

/* store_group_commit - see store.h */
gboolean
store_group_commit(struct store *store, GError **error)
{
	g_return_val_if_fail(store->floor > 0, FALSE);
	store->floor = 0;
	store->depth = 1;
	if (!store->ops->in_transaction(store)) {
		store->depth = 0;
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "the grouped transaction was rolled back by SQLite");
		return FALSE;
	}
	return store_commit(store, error);
}

/* store_group_abort - see store.h */
void
store_group_abort(struct store *store)
{
	store->floor = 0;
	store->depth = 1;
	store_rollback(store);
}

/* store_list_id - a list's row id */
gint64
store_list_id(struct store *store, const char *name, gboolean create,
    GError **error)
{
	GError *err = NULL;
	gint64 id = 0;
	int found;

	if (create && !store_run(store, "INSERT INTO lists(name) VALUES (?1)"
	    " ON CONFLICT(name) DO NOTHING", error, SQ_TEXT(name), SQ_END))
		return 0;
	found = store_get_int(store, "SELECT id FROM lists WHERE name = ?1",
	    &id, &err, SQ_TEXT(name), SQ_END);
	if (found == 0)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "list \"%s\" has no members yet", name);
	else if (found < 0)
		g_propagate_prefixed_error(error, err, "looking up list %s: ",
		    name);
	return found == 1 ? id : 0;
}

/* store_list_row - see store.h */
gint64
store_list_row(struct store *store, const char *name, gboolean create,
    GError **error)
{
	GError *err = NULL;
	gint64 id = store_list_id(store, name, create, &err);

	if (id == 0 && err != NULL) {
		if (err->code == HERALD_ERROR_NOUSER && !create) {
			g_error_free(err);
			return 0;
		}
		g_propagate_error(error, err);
		return -1;
	}
	return id;
}

/* store_event - append to the event log */
gboolean
store_event(struct store *store, gint64 list_id, gint64 subscriber_id,
    const char *action, const char *channel, const char *detail,
    GError **error)
{
	return store_run(store, "INSERT INTO events(list_id, subscriber_id,"
	    " action, channel, detail) VALUES (nullif(?1, 0), nullif(?2, 0),"
	    " ?3, ?4, ?5)", error, SQ_INT(list_id), SQ_INT(subscriber_id),
	    SQ_TEXT(action), SQ_TEXT(channel), SQ_TEXT(detail), SQ_END);
}

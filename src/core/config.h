/*
 * config.h - etc/herald.conf and the list files under lists/, read with
 * libconfuse into plain structs that the rest of herald only reads.
 *
 * Must stay true: every value has a default, so a checkout runs with no
 * edits; an unknown option, a bad value or an unclosed section is an error
 * that names FILE:LINE (class HERALD_ERROR_CONFIG). libconfuse's lexer is
 * global: load configuration in one thread, before any worker starts.
 * Relative paths in a file are relative to the folder that holds it.
 */
#ifndef HERALD_CONFIG_H
#define HERALD_CONFIG_H

#include <glib.h>

enum starttls_mode {
	STARTTLS_OFF,
	STARTTLS_WHEN_OFFERED,
	STARTTLS_REQUIRED,
};

enum reply_to_policy {
	REPLY_TO_LIST,		/* replies come back to the list address (stored, forwarded) */
	REPLY_TO_FROM,		/* no Reply-To: replies go to From */
	REPLY_TO_OWNER,		/* Reply-To: the list's -owner address */
};

enum archive_mode {
	ARCHIVE_PUBLIC,		/* /archive/LIST/ lists the campaigns sent */
	ARCHIVE_PRIVATE,	/* not served (a page that says so) */
	ARCHIVE_OFF,		/* not served, as if there were no archive */
};

struct bounce_policy {
	double hard_score;		/* added per hard bounce (1.0) */
	double soft_score;		/* added per soft bounce (0.5) */
	double threshold;		/* disable at this score (5.0) */
	int stale_days;			/* a score older than this starts again (7) */
	int warnings;			/* warnings before removal (3) */
	int warning_interval_days;	/* between warnings (7) */
	gboolean notify_owner;		/* tell the owners when someone is disabled */
};

/* tracking { clicks = …; opens = … } of a list file (doc/guide/engagement.md) */
enum track_clicks {
	TRACK_CLICKS_OFF,		/* links go out as written (the default) */
	TRACK_CLICKS_AGGREGATE,		/* counted per campaign, segment and link */
	TRACK_CLICKS_PER_SUBSCRIBER,	/* ... and per delivery (a person) */
};

struct segment_def {
	char *name;
	char *where;		/* the expression, as written */
	char *description;
	int line;		/* the line of its "where" in the file */
};

/* dkim { } of a list file: signing is on when the section is there */
struct list_dkim {
	char *domain;		/* d=, aligned with From (default: From's domain) */
	char *selector;		/* s= of the RSA signature ("herald") */
	char *key_file;		/* RSA private key, PEM (default in the data folder) */
	char *ed25519_selector;	/* NULL: no second (ed25519-sha256) signature */
	char *ed25519_key_file;	/* its PEM key (default in the data folder) */
	int line;		/* the line of "dkim {" */
};

struct list_config {
	char *name;		/* the file's base name: lists/NAME.conf */
	char *file;		/* path of the list file */
	char *address;		/* NAME@DOMAIN unless set */
	int address_line;	/* the line of address =, 0 when not set */
	char *local;		/* local part of address */
	char *domain;		/* domain of address */
	char *display_name;
	char *from;		/* From: of announcements */
	char **owners;		/* NULL-terminated */
	enum reply_to_policy reply_to;
	gboolean announce_only;
	gboolean subscribe_by_mail;	/* LIST-subscribe@ accepted */
	gboolean goodbye_notice;	/* tell people they were unsubscribed */
	gboolean goodbye_after_one_click;	/* …after a one-click too */
	char *unsubscribe_base_url;	/* https://…/ or NULL: adds the URL form */
	char *preferences_base_url;	/* web.base_url/preferences/ or NULL */
	char *description;		/* a line for "why you get this" */
	char **editable;		/* attributes subscribers set on the web */
	enum archive_mode archive;	/* the web archive of its campaigns */
	struct bounce_policy bounce;
	struct list_dkim *dkim;		/* NULL: messages are not signed */
	char *feedback_id;	/* Gmail's SenderId for Feedback-ID, or NULL */
	char *timezone;		/* an IANA zone ("Europe/Berlin"), NULL: local */
	char *window;		/* sending window ("Mon-Fri 09:00-17:00"), NULL: any time */
	int daily_cap;		/* most messages a day per campaign, 0: no cap */
	GPtrArray *segments;		/* struct segment_def *, in file order */
	enum track_clicks track_clicks;	/* tracking.clicks */
	gboolean track_opens;		/* tracking.opens = "per-subscriber" */
	int tracking_line;		/* the line of "tracking {", 0: none */
	char *track_base_url;		/* web.base_url when tracking, else NULL */
};

struct smtp_config {
	char *host;
	int port;
	enum starttls_mode starttls;
	char *user;		/* AUTH user, NULL: no AUTH */
	char *password_file;	/* the password, first line of this file */
	int timeout;		/* seconds, per SMTP step */
	char *helo;		/* NULL: the host name */
};

/* one relay of the pool: relay NAME { } in herald.conf, or the smtp { }
 * section when there is none (named "smtp") */
struct relay_config {
	char *name;
	struct smtp_config smtp;	/* host, port, TLS, AUTH, timeout */
	int weight;		/* share of the deliveries among those up */
	int connections;	/* its SMTP sessions (send.connections) */
	gint64 per_hour;	/* sliding-window quotas, 0: none */
	gint64 per_day;
};

/* a group of recipient domains shaped together: shape NAME { } */
struct shape_config {
	char *name;
	char **domains;		/* lowercased, NULL-terminated */
	double rate;		/* messages per second to the group, 0: none */
	int connections;	/* messages in flight to it at once, 0: any */
};

struct send_config {
	int connections;	/* parallel SMTP sessions */
	int batch;		/* messages per session (libesmtp keeps them all) */
	double rate;		/* messages per second, 0 unlimited */
	double domain_rate;	/* per recipient domain, 0 unlimited */
	int max_age;		/* seconds a delivery may stay queued, then failed */
	int retry_base;		/* first retry delay, seconds; doubles each time */
	double error_threshold;	/* pause when failed/attempted passes this… */
	int error_min;		/* …after at least this many attempts */
	int relay_backoff;	/* seconds a failed relay rests before a probe */
	gboolean quota_pause;	/* every relay at its quota: pause, not wait */
	int lease;		/* seconds a claim on a chunk lasts (PostgreSQL) */
};

struct pipe_config {
	gint64 max_size;	/* bytes; larger inbound mail is refused */
	int pending_expiry_hours; /* unconfirmed subscriptions expire */
	int spool_keep_days;	/* herald maintain prunes the inbound archive */
};

struct web_config {
	char *listen;		/* ADDR:PORT of herald serve (127.0.0.1:8025) */
	char *base_url;		/* the public URL, no trailing '/'; NULL: none */
	char *templates;	/* the pages' folder; NULL: found as announcements' */
	char **trusted_proxies;	/* peers whose X-Forwarded-For counts */
	char **metrics_allow;	/* clients GET /metrics answers (ADDR[/BITS]) */
	int threads;		/* worker threads */
	int max_connections;	/* open connections, in all */
	int per_ip_connections;	/* open connections from one address */
	int timeout;		/* seconds a connection may stay idle */
	int request_timeout;	/* seconds to read a whole request */
	int max_body;		/* bytes of a request body */
	int ip_rate;		/* requests a minute from one address */
	int token_rate;		/* POSTs a minute with one token */
	int retry_after;	/* seconds, on 503 and 429 */
};

struct config {
	char *path;		/* the file read, NULL when built-in defaults */
	char *data_dir;
	char *database;		/* the SQLite file, or "postgresql:CONNINFO" */
	char *store_password_file;	/* store { password_file }, or NULL */
	int store_busy_timeout;	/* store { busy_timeout }: seconds a write
				 * waits for another process's lock */
#define CONFIG_BUSY_TIMEOUT_DEFAULT 10	/* its default, in seconds: the
				 * store's backends open with it */
	char *secret;
	char *spool_dir;
	char *list_dir;
	char *domain;
	struct smtp_config smtp;
	gboolean smtp_given;	/* herald.conf has an smtp { } section of its
				 * own (not only the defaults) */
	gboolean relays_given;	/* it has relay NAME { } sections */
	GPtrArray *relays;	/* struct relay_config *, at least one; the
				 * first is smtp { } when there is no relay */
	GPtrArray *shapes;	/* struct shape_config * */
	struct send_config send;
	struct pipe_config pipe;
	struct web_config web;
	GPtrArray *lists;	/* struct list_config *, sorted by name */
};

/* config_find - the configuration file to read: OPTION (-c), else
 * $HERALD_CONFIG (either must exist), else ./etc/herald.conf, else
 * SYSCONFDIR/herald/herald.conf (caller frees). None: NULL and a CONFIG
 * error that names the files tried. */
char *config_find(const char *option, GError **error);

/* config_load - read PATH (NULL: built-in defaults, for tests) and every
 * list file; NULL and a CONFIG error naming FILE:LINE on failure. A list
 * folder that does not exist is an error; an empty one means no lists. */
struct config *config_load(const char *path, GError **error);
void config_free(struct config *config);

/* config_list - the list named NAME, or NULL and a NOUSER error */
const struct list_config *config_list(const struct config *config,
    const char *name, GError **error);

/* config_list_by_address - the list whose local part is LOCAL (the part
 * before any "-suffix" is the caller's business) on DOMAIN; NULL if none */
const struct list_config *config_list_by_local(const struct config *config,
    const char *local, const char *domain);

const struct segment_def *config_segment(const struct list_config *list,
    const char *name);

/* config_parse_list_file - one list file (used by config_load and tests) */
struct list_config *config_parse_list_file(const char *path,
    const char *default_domain, GError **error);
void config_list_free(struct list_config *list);

/* config_from_domain - the domain of LIST's From (an address, maybe with
 * a display name and <>); NULL if there is none (caller frees) */
char *config_from_domain(const struct list_config *list);

/* config_check_braces - TEXT (read from PATH) closes every '{' it opens;
 * libconfuse 3.3 alone accepts a file that ends inside a section. A
 * CONFIG error at the line of the unclosed '{' otherwise. */
gboolean config_check_braces(const char *path, const char *text,
    GError **error);

/* config_scan - TEXT (LEN bytes, read from PATH) checked for what
 * libconfuse lets through: a NUL byte, an option set twice in one section,
 * a ${…} outside quotes; *OUT (caller frees) is the text to parse, with
 * the environment expansion of double-quoted strings turned off (every
 * "${" escaped), lines unchanged. *LINES (NULL: not wanted) maps each
 * top-level option to its line. FALSE and a CONFIG error at FILE:LINE. */
gboolean config_scan(const char *path, const char *text, gsize len,
    char **out, GHashTable **lines, GError **error);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct config config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(config, config_free)

#endif

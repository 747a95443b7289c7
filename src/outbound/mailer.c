/*
 * mailer.c - herald's own mail through smtp { } or the relay pool (see
 * mailer.h for who carries what, and why quotas never hold it).
 *
 * The order of the relays is worked out afresh for each message, from the
 * store: every process (each herald pipe, herald serve, herald maintain)
 * learns from the failures the others met, and from campaign runs, whose
 * breaker writes the same relay states. One message, one relay at a
 * time: the first relay's session ends before the next one's starts.
 */
#include <string.h>
#include <time.h>

#include "herald.h"
#include "mailer.h"
#include "relay.h"
#include "send.h"

/* how soon a relay is tried */
enum mailer_rank {
	MAILER_UP,		/* up (or its rest is over), under its quota */
	MAILER_AT_QUOTA,	/* up, at its quota: still tried, after those */
	MAILER_RESTING,		/* failed less than send.relay_backoff ago */
};

struct mailer_choice {
	const struct relay_config *relay;
	enum mailer_rank rank;
	guint index;		/* its place in herald.conf */
	gboolean marked_down;	/* the store says down: mark it up if it takes */
};

/* mailer_by_relays - see mailer.h */
gboolean
mailer_by_relays(const struct config *config)
{
	return config->relays_given && !config->smtp_given;
}

/* mailer_order - rank, then the heavier relay, then file order */
static gint
mailer_order(gconstpointer a, gconstpointer b)
{
	const struct mailer_choice *x = a, *y = b;

	if (x->rank != y->rank)
		return (gint)x->rank - (gint)y->rank;
	if (x->relay->weight != y->relay->weight)
		return y->relay->weight - x->relay->weight;
	return (gint)x->index - (gint)y->index;
}

/* mailer_choices - every relay of the pool, in the order to try them (a
 * store that cannot be read ranks every relay as up) */
static GArray *
mailer_choices(const struct mailer *m)
{
	const struct config *config = m->config;
	GArray *c = g_array_sized_new(FALSE, TRUE,
	    sizeof(struct mailer_choice), config->relays->len);
	gint64 clock = relay_now();
	guint i;

	for (i = 0; i < config->relays->len; i++) {
		struct mailer_choice ch = { g_ptr_array_index(config->relays, i),
		    MAILER_UP, i, FALSE };

		if (m->store != NULL && relay_rest_left(m->store,
		    ch.relay->name, config->send.relay_backoff,
		    &ch.marked_down, NULL) > 0)
			ch.rank = MAILER_RESTING;
		if (ch.rank == MAILER_UP && m->store != NULL &&
		    relay_quota_left(m->store, ch.relay, clock, NULL, NULL) == 0)
			ch.rank = MAILER_AT_QUOTA;
		g_array_append_val(c, ch);
	}
	g_array_sort(c, mailer_order);
	return c;
}

/* mailer_took - RELAY accepted one message: count it against its quota,
 * and mark it up if the store had it down */
static void
mailer_took(const struct mailer *m, const struct mailer_choice *ch)
{
	if (m->store == NULL)
		return;
	if (store_begin(m->store, NULL)) {
		if (store_relay_record_usage(m->store, ch->relay->name, relay_now(), 1,
		    NULL))
			(void)store_commit(m->store, NULL);
		else
			store_rollback(m->store);
	}
	if (ch->marked_down)
		(void)relay_set_state(m->store, ch->relay->name, "up", NULL,
		    NULL);
}

/* mailer_fault - why RESULT is RELAY's failure ("421 … (at connect)",
 * caller frees), or NULL when it is a recipient's. A relay that could not
 * even be set up (ERR: its password file) is at fault too. */
static char *
mailer_fault(const struct send_result *result, const GError *err)
{
	guint i;

	if (result->rcpts == NULL)
		return g_strdup(err->message);
	for (i = 0; i < result->rcpts->len; i++) {
		const struct send_rcpt *r = g_ptr_array_index(result->rcpts, i);
		char code[16] = "";

		if (!send_relay_fault(r))
			continue;
		if (r->code != 0)
			g_snprintf(code, sizeof code, "%d ", r->code);
		return g_strdup_printf("%s%s (at %s)", code, r->reply,
		    send_stage_name(r->stage));
	}
	return NULL;
}

/* mailer_send - see mailer.h */
gboolean
mailer_send(const struct mailer *m, const char *envelope_from,
    const char *const *rcpts, GBytes *message, char **via, GError **error)
{
	g_autoptr(GArray) choices = NULL;
	g_autoptr(GString) why = NULL;
	guint i;

	if (via != NULL)
		*via = NULL;
	if (!mailer_by_relays(m->config))
		return send_one(&m->config->smtp, envelope_from, rcpts, message,
		    NULL, error);
	choices = mailer_choices(m);
	why = g_string_new(NULL);
	for (i = 0; i < choices->len; i++) {
		const struct mailer_choice *ch = &g_array_index(choices,
		    struct mailer_choice, i);
		struct send_result result = { 0 };
		g_autoptr(GError) err = NULL;
		g_autofree char *fault = NULL;

		if (send_one(&ch->relay->smtp, envelope_from, rcpts, message,
		    &result, &err)) {
			send_result_clear(&result);
			mailer_took(m, ch);
			if (via != NULL)
				*via = g_strdup(ch->relay->name);
			return TRUE;
		}
		fault = mailer_fault(&result, err);
		send_result_clear(&result);
		if (fault == NULL) {
			/* a recipient's refusal: it would meet it anywhere;
			 * the relay itself answered */
			if (ch->marked_down && m->store != NULL)
				(void)relay_set_state(m->store, ch->relay->name,
				    "up", NULL, NULL);
			g_propagate_prefixed_error(error, g_steal_pointer(&err),
			    "relay %s: ", ch->relay->name);
			return FALSE;
		}
		if (m->store != NULL)
			(void)relay_set_state(m->store, ch->relay->name, "down",
			    fault, NULL);
		g_string_append_printf(why, "%srelay %s: %s", why->len > 0 ?
		    "; " : "", ch->relay->name, err->message);
	}
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
	    "no relay took it: %s", why->str);
	return FALSE;
}

/*
 * notice.c - compose herald's own notices with GMime and hand them to the
 * relay over SMTP (libesmtp). See notice.h for what a notice carries.
 *
 * The SMTP hand-over is mailer.c's: smtp { } of etc/herald.conf, or the
 * relays when it has only relay sections, through send.c's send_one()
 * (one session, its STARTTLS and AUTH, and one mapping of SMTP replies to
 * error classes, 4xx, no reply or a refused connection TEMP, 5xx PERM,
 * shared with campaigns).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "herald.h"
#include "config.h"
#include "dkim.h"
#include "notice.h"
#include "mailer.h"

/* notice_may_send_to - refuse empty, MAILER-DAEMON and list-like addresses */
gboolean
notice_may_send_to(const char *address)
{
	static const char *const listlike[] = { "-request", "-bounces",
	    "-bounce", "-owner", "-admin", "-confirm", "-unsubscribe",
	    "-subscribe" };
	g_autofree char *local = NULL;
	const char *at;
	char *plus;
	size_t i;

	if (address == NULL || *address == '\0' ||
	    (at = strrchr(address, '@')) == NULL || at == address)
		return FALSE;
	local = g_ascii_strdown(address, at - address);
	if ((plus = strchr(local, '+')) != NULL)
		*plus = '\0';
	if (strcmp(local, "mailer-daemon") == 0 ||
	    strcmp(local, "<>") == 0 || strcmp(local, "owner") == 0)
		return FALSE;
	if (g_str_has_prefix(local, "owner-"))
		return FALSE;
	for (i = 0; i < G_N_ELEMENTS(listlike); i++)
		if (g_str_has_suffix(local, listlike[i]))
			return FALSE;
	return TRUE;
}

/* notice_address - LOCAL SUFFIX [+EXT] @DOMAIN */
char *
notice_address(const struct list_config *list, const char *suffix,
    const char *extension)
{
	return g_strdup_printf("%s%s%s%s@%s", list->local, suffix,
	    extension != NULL ? "+" : "", extension != NULL ? extension : "",
	    list->domain);
}

/* notice_list_id - RFC 2919 List-Id */
char *
notice_list_id(const struct list_config *list)
{
	if (list->display_name != NULL && *list->display_name != '\0')
		return g_strdup_printf("%s <%s.%s>", list->display_name,
		    list->local, list->domain);
	return g_strdup_printf("<%s.%s>", list->local, list->domain);
}

/* notice_text_part - a UTF-8 text/plain part holding TEXT */
static GMimePart *
notice_text_part(const char *text)
{
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(text,
	    strlen(text));
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(mem,
	    GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(GMIME_PART(part), w);
	g_object_unref(w);
	g_object_unref(mem);
	g_mime_text_part_set_charset(part, "utf-8");
	g_mime_part_set_content_encoding(GMIME_PART(part),
	    g_mime_part_get_best_content_encoding(GMIME_PART(part),
	    GMIME_ENCODING_CONSTRAINT_7BIT));
	return GMIME_PART(part);
}

/* notice_message - a message with the headers every notice shares;
 * ANSWERS: it answers a message (Auto-Submitted) */
static GMimeMessage *
notice_message(const struct list_config *list, const char *subject,
    const char *reply_to, gboolean answers)
{
	GMimeMessage *msg = g_mime_message_new(TRUE);
	g_autofree char *request = notice_address(list, "-request", NULL);
	g_autofree char *list_id = notice_list_id(list);
	g_autofree char *loop = g_strdup_printf("%s@%s", list->local,
	    list->domain);
	g_autofree char *msgid = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *rnd = g_strdup_printf("%08x%08x", g_random_int(),
	    g_random_int());

	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM,
	    list->display_name != NULL ? list->display_name : list->name,
	    request);
	if (reply_to != NULL)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO,
		    NULL, reply_to);
	g_mime_message_set_subject(msg, subject, "utf-8");
	g_mime_message_set_date(msg, now);
	msgid = g_strdup_printf("herald-notice.%" G_GINT64_FORMAT ".%d.%s@%s",
	    g_date_time_to_unix(now), (int)getpid(), rnd, list->domain);
	g_mime_message_set_message_id(msg, msgid);
	g_mime_object_set_header(GMIME_OBJECT(msg), "List-Id", list_id, NULL);
	g_mime_object_set_header(GMIME_OBJECT(msg), "X-Loop", loop, NULL);
	/* RFC 3834, 5: auto-replied only in direct response to a message */
	g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted",
	    answers ? "auto-replied" : "auto-generated", NULL);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Precedence", "list", NULL);
	if (list->feedback_id != NULL) {
		/* Gmail's Feedback-ID, "notice" for campaign and segment */
		g_autofree char *fid = g_strdup_printf("notice:notice:%s:%s",
		    list->name, list->feedback_id);

		g_mime_object_set_header(GMIME_OBJECT(msg), "Feedback-ID", fid,
		    NULL);
	}
	return msg;
}

/* notice_compose - a plain text notice to one address */
GMimeMessage *
notice_compose(const struct list_config *list, const char *to,
    const char *reply_to, const char *subject, const char *text,
    gboolean answers)
{
	GMimeMessage *msg = notice_message(list, subject, reply_to, answers);
	GMimePart *part = notice_text_part(text);

	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, to);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(part));
	g_object_unref(part);
	return msg;
}

/* notice_forward - the original as message/rfc822 after a summary */
GMimeMessage *
notice_forward(const struct list_config *list, GBytes *original,
    const char *reply_to, const char *subject, const char *summary)
{
	/* the owners get it; it answers nobody's message */
	GMimeMessage *msg = notice_message(list, subject, reply_to, FALSE);
	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
	GMimePart *text = notice_text_part(summary);
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(
	    g_bytes_get_data(original, NULL), g_bytes_get_size(original));
	GMimeParser *parser = g_mime_parser_new_with_stream(mem);
	GMimeMessage *orig = g_mime_parser_construct_message(parser, NULL);
	char **o;

	for (o = list->owners; o != NULL && *o != NULL; o++)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, *o);
	g_mime_multipart_add(mixed, GMIME_OBJECT(text));
	if (orig != NULL) {
		GMimeMessagePart *mp =
		    g_mime_message_part_new_with_message("rfc822", orig);

		g_mime_multipart_add(mixed, GMIME_OBJECT(mp));
		g_object_unref(mp);
		g_object_unref(orig);
	}
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed));
	g_object_unref(text);
	g_object_unref(mixed);
	g_object_unref(parser);
	g_object_unref(mem);
	return msg;
}

/* notice_bytes - MSG as the bytes that leave (CRLF), DKIM-signed when
 * LIST signs: every path that sends a notice takes its bytes from here */
GBytes *
notice_bytes(const struct list_config *list, GMimeMessage *msg,
    GError **error)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	GString *out;
	char *text;

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	text = g_mime_object_to_string(GMIME_OBJECT(msg), fo);
	g_mime_format_options_free(fo);
	out = g_string_new(text);
	g_free(text);
	if (list->dkim != NULL) {
		struct dkim_signer *signer = dkim_signer_new(list->dkim, error);
		gboolean ok = signer != NULL &&
		    dkim_signer_sign(signer, out, 0, error);

		dkim_signer_free(signer);
		if (!ok) {
			g_string_free(out, TRUE);
			return NULL;
		}
	}
	return g_string_free_to_bytes(out);
}

/* notice_send - one message through mailer.c */
gboolean
notice_send(const struct mailer *mailer, const struct list_config *list,
    GMimeMessage *msg, const char *const *rcpts, GError **error)
{
	g_autofree char *envelope = notice_address(list, "-bounces", NULL);
	g_autoptr(GBytes) bytes = notice_bytes(list, msg, error);

	if (bytes == NULL)
		return FALSE;
	return mailer_send(mailer, envelope, rcpts, bytes, NULL, error);
}

/*
 * test-bounce.c - unit tests of bounce.c through its public API: the
 * RFC 3464 block reader (folding, several recipients, delivered blocks),
 * kinds, reasons, complaints, auto-replies, VERP candidates, and the
 * bounds on hostile input. GLib's gtest prints TAP (run with --tap).
 */
#include <string.h>

#include <gmime/gmime.h>

#include "bounce.h"
#include "herald.h"

#define DSN_HEAD \
	"From: MAILER-DAEMON@mx.example.org\n" \
	"To: list-bounces+TOK123@lists.example.net\n" \
	"Subject: Delivery Status Notification\n" \
	"MIME-Version: 1.0\n" \
	"Content-Type: multipart/report; report-type=delivery-status; " \
	"boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nfailed\n\n" \
	"--b\nContent-Type: message/delivery-status\n\n" \
	"Reporting-MTA: dns; mx.example.org\n\n"

/* classify - parse TEXT and classify it; the caller frees the report. */
static struct bounce_report *
classify(const char *text)
{
	g_autoptr(GError) error = NULL;
	GMimeMessage *msg = bounce_parse_bytes(text, strlen(text), &error);
	struct bounce_report *r = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(msg);
	g_assert_true(bounce_classify(msg, &r, &error));
	g_object_unref(msg);
	return r;
}

static const struct bounce_recipient *
rcpt(const struct bounce_report *r, guint i)
{
	g_assert_cmpuint(r->recipients->len, >, i);
	return g_ptr_array_index(r->recipients, i);
}

/* test_dsn_blocks - several recipient blocks, folding, CRLF, actions. */
static void
test_dsn_blocks(void)
{
	struct bounce_report *r = classify(DSN_HEAD
	    "Final-Recipient: rfc822; <One@Example.com>\r\n"
	    "Action: failed\r\n"
	    "Status: 5.2.2\r\n"
	    "Diagnostic-Code: smtp; 552 5.2.2 mailbox\r\n"
	    "  is full\r\n\r\n"
	    "Final-Recipient: rfc822;two@example.com\n"
	    "Action: delivered\n"
	    "Status: 2.0.0\n\n"
	    "Original-Recipient: rfc822;alias@example.net\n"
	    "Final-Recipient: rfc822;three@example.com\n"
	    "Action: delayed\n"
	    "Status: 4.4.1\n\n--b--\n");

	g_assert_cmpuint(r->recipients->len, ==, 2);
	g_assert_cmpstr(rcpt(r, 0)->address, ==, "one@example.com");
	g_assert_cmpint(rcpt(r, 0)->kind, ==, BOUNCE_HARD);
	g_assert_cmpstr(rcpt(r, 0)->status, ==, "5.2.2");
	g_assert_cmpint(rcpt(r, 0)->reason, ==, BOUNCE_REASON_MAILBOX_FULL);
	g_assert_nonnull(strstr(rcpt(r, 0)->diagnostic, "mailbox is full"));
	g_assert_cmpstr(rcpt(r, 1)->address, ==, "three@example.com");
	g_assert_cmpstr(rcpt(r, 1)->original, ==, "alias@example.net");
	g_assert_cmpint(rcpt(r, 1)->kind, ==, BOUNCE_SOFT);
	g_assert_cmpint(bounce_report_kind(r), ==, BOUNCE_UNKNOWN);
	g_assert_cmpstr(r->method, ==, "dsn");
	bounce_report_free(r);
}

/* test_dsn_delivered - a report of success alone names nobody. */
static void
test_dsn_delivered(void)
{
	struct bounce_report *r = classify(DSN_HEAD
	    "Final-Recipient: rfc822;two@example.com\n"
	    "Action: relayed\nStatus: 2.0.0\n\n--b--\n");

	g_assert_cmpuint(r->recipients->len, ==, 0);
	bounce_report_free(r);
}

/* test_exim - an Exim notice without DSN. */
static void
test_exim(void)
{
	struct bounce_report *r = classify(
	    "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
	    "To: list-bounces+T@lists.example.net\n"
	    "Subject: Mail delivery failed: returning message to sender\n\n"
	    "This message was created automatically by mail delivery software.\n\n"
	    "A message that you sent could not be delivered to one or more of its\n"
	    "recipients. This is a permanent error. The following address(es) failed:\n\n"
	    "  gina@example.com\n"
	    "    SMTP error from remote mail server after RCPT TO:<gina@example.com>:\n"
	    "    host mx.example.com [192.0.2.1]: 550 5.1.1 User unknown\n\n"
	    "------ This is a copy of the message, including all the headers. ------\n\n"
	    "From: list@lists.example.net\nTo: gina@example.com\n");

	g_assert_cmpuint(r->recipients->len, ==, 1);
	g_assert_cmpstr(rcpt(r, 0)->address, ==, "gina@example.com");
	g_assert_cmpint(rcpt(r, 0)->kind, ==, BOUNCE_HARD);
	g_assert_cmpstr(rcpt(r, 0)->status, ==, "5.1.1");
	g_assert_cmpint(rcpt(r, 0)->reason, ==, BOUNCE_REASON_USER_UNKNOWN);
	bounce_report_free(r);
}

/* test_not_bounces - an ordinary mail and a vacation notice. */
static void
test_not_bounces(void)
{
	struct bounce_report *r = classify("From: a@example.com\n"
	    "To: b@example.com\nSubject: lunch\n\nmeet c@example.com at noon\n");

	g_assert_cmpuint(r->recipients->len, ==, 0);
	bounce_report_free(r);
	r = classify("From: a@example.com\nTo: b@example.com\n"
	    "Subject: Automatic reply: summit\nAuto-Submitted: auto-replied\n\n"
	    "I am away. Mail for a@example.com could not be delivered.\n");
	g_assert_cmpuint(r->recipients->len, ==, 0);
	bounce_report_free(r);
}

/* test_complaint - ARF: no bounce, but a complaint with its recipient. */
static void
test_complaint(void)
{
	const char *text = "From: fbl@isp.example\nTo: x@example.net\n"
	    "Subject: report\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=feedback-report; "
	    "boundary=\"f\"\n\n--f\nContent-Type: text/plain\n\nabuse\n\n"
	    "--f\nContent-Type: message/feedback-report\n\n"
	    "Feedback-Type: abuse\nUser-Agent: FBL/1\nVersion: 1\n\n"
	    "--f\nContent-Type: message/rfc822\n\n"
	    "From: list@lists.example.net\nTo: Hank <hank@example.com>\n"
	    "Return-Path: <list-bounces+AbC9@lists.example.net>\n"
	    "Subject: s\n\nbody\n--f--\n";
	GMimeMessage *msg = bounce_parse_bytes(text, strlen(text), NULL);
	struct bounce_complaint *c;
	struct bounce_report *r = NULL;
	GPtrArray *verp;

	g_assert_true(bounce_is_complaint(msg));
	g_assert_true(bounce_classify(msg, &r, NULL));
	g_assert_cmpuint(r->recipients->len, ==, 0);
	bounce_report_free(r);
	c = bounce_complaint_parse(msg);
	g_assert_nonnull(c);
	g_assert_cmpstr(c->feedback_type, ==, "abuse");
	g_assert_cmpstr(c->recipient, ==, "hank@example.com");
	g_assert_nonnull(c->original_headers);
	bounce_complaint_free(c);
	verp = bounce_verp_candidates(msg);
	g_assert_cmpuint(verp->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(verp, 0), ==,
	    "list-bounces+abc9");
	g_ptr_array_unref(verp);
	g_object_unref(msg);
}

/* test_verp_outer - the envelope headers come first and keep case. */
static void
test_verp_outer(void)
{
	const char *text = "Delivered-To: list-bounces+XyZ@lists.example.net\n"
	    "From: MAILER-DAEMON@x.example\nTo: list-bounces+XyZ@lists.example.net\n"
	    "Subject: failure\n\nno\n";
	GMimeMessage *msg = bounce_parse_bytes(text, strlen(text), NULL);
	GPtrArray *verp = bounce_verp_candidates(msg);

	g_assert_cmpuint(verp->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(verp, 0), ==, "list-bounces+XyZ");
	g_ptr_array_unref(verp);
	g_object_unref(msg);
}

/* test_hostile - deep nesting, NULs and a huge header stay bounded. */
static void
test_hostile(void)
{
	GString *s = g_string_new("From: MAILER-DAEMON@x.example\n"
	    "Subject: Undelivered Mail\nX-Big: ");
	struct bounce_report *r;
	GMimeMessage *msg;
	int i;

	for (i = 0; i < 100000; i++)
		g_string_append(s, "a@b.example ");
	g_string_append(s, "\nContent-Type: multipart/mixed; boundary=\"z\"\n\n");
	for (i = 0; i < 500; i++)
		g_string_append(s, "--z\nContent-Type: multipart/mixed; "
		    "boundary=\"z\"\n\n");
	g_string_append_len(s, "<x@y.example>:\0\0 550\n", 21);
	msg = bounce_parse_bytes(s->str, s->len, NULL);
	g_assert_nonnull(msg);
	g_assert_true(bounce_classify(msg, &r, NULL));
	g_assert_cmpuint(r->recipients->len, <=, 64);
	bounce_report_free(r);
	g_object_unref(msg);
	g_string_free(s, TRUE);
}

/* test_names - the fixed vocabulary. */
static void
test_names(void)
{
	g_assert_cmpstr(bounce_kind_name(BOUNCE_SOFT), ==, "soft");
	g_assert_cmpstr(bounce_reason_name(BOUNCE_REASON_TOO_BIG), ==,
	    "too_big");
	g_assert_cmpstr(bounce_reason_name((enum bounce_reason)99), ==,
	    "other");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add_func("/bounce/dsn-blocks", test_dsn_blocks);
	g_test_add_func("/bounce/dsn-delivered", test_dsn_delivered);
	g_test_add_func("/bounce/exim", test_exim);
	g_test_add_func("/bounce/not-bounces", test_not_bounces);
	g_test_add_func("/bounce/complaint", test_complaint);
	g_test_add_func("/bounce/verp-outer", test_verp_outer);
	g_test_add_func("/bounce/hostile", test_hostile);
	g_test_add_func("/bounce/names", test_names);
	return g_test_run();
}

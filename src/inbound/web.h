/*
 * web.h - herald serve: the list's web side over HTTP/1.1 (libmicrohttpd),
 * meant to sit behind a TLS reverse proxy.
 *
 *   POST /unsubscribe/TOKEN      RFC 8058 one-click (and the page's button)
 *   GET  /unsubscribe/TOKEN      a page with one button; changes nothing
 *   POST /resubscribe/TOKEN      undo of an unsubscribe
 *   GET|POST /preferences/TOKEN  name, editable attributes, lists, leave all
 *   GET|POST /subscribe/LIST     the form; POST mails the confirmation
 *   GET|POST /confirm/TOKEN      a button; POST confirms
 *   GET  /archive/LIST/, /archive/LIST/ID, /archive/LIST/feed.atom
 *   GET  /health
 *   GET|HEAD /l/TOKEN, /o/TOKEN  a tracked link's 302, the open image
 *                                (web_track.h)
 *   POST /mydata/TOKEN           the subscriber's data as a JSON file
 *   GET|POST /erase/TOKEN        a confirmation page; POST confirm=yes
 *                                erases the subscriber (mydata.h)
 *
 * Must stay true: a GET (or HEAD) never changes state; every change is a
 * POST with a valid token of the right purpose (the subscribe form aside,
 * which only mails a confirmation), done by action.c, the module herald
 * pipe uses, and committed before the 200 goes out; the notices a change
 * queued in the outbox are tried after the answer. A busy database is 503
 * with Retry-After, never a lost action. Bad input (a malformed URL or
 * percent-encoding, invalid UTF-8, an oversized body, a wrong method, an
 * unknown list or token) is a 4xx with a plain page and changes nothing.
 * The log line of a request never holds a token.
 */
#ifndef HERALD_WEB_H
#define HERALD_WEB_H

#include <glib.h>
#include <sys/socket.h>
#include "config.h"
#include "token.h"

struct web;


/* web_new - load the page templates (web.templates, else templates/web
 * beside the announcements'), check LISTEN ("ADDR:PORT", NULL: the
 * configured one); nothing listens yet */
struct web *web_new(const struct config *config, const struct token_key *key,
    const char *listen, GError **error);

/* web_start - listen and serve in libmicrohttpd's threads. Call with the
 * signals the caller waits for blocked, so those threads never take them. */
gboolean web_start(struct web *web, GError **error);

/* web_address - "ADDR:PORT" actually bound (after web_start) */
const char *web_address(const struct web *web);

/* web_stop - stop accepting, finish the requests in flight, close */
void web_stop(struct web *web);
void web_free(struct web *web);

/* web_nginx - an nginx server block for CONFIG (caller frees) */
char *web_nginx(const struct config *config);

#endif

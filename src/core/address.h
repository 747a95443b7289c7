/*
 * address.h - subscribers' addresses and attribute names, checked and
 * folded without the store: the syntax and lengths of an address, its
 * uniqueness key, names and values free of line breaks, and the keys the
 * segment language can name. The names keep their subscriber_ prefix:
 * the whole program knows them by it (subscriber.h includes this).
 *
 * Must stay true: nothing here reads or writes state; an address is
 * checked before anything stores it (RFC 5321 lengths, one @, dot-atom
 * or quoted local part, an IDN domain as given); names and attribute
 * values with CR or LF are refused.
 */
#ifndef HERALD_ADDRESS_H
#define HERALD_ADDRESS_H

#include <glib.h>

/* subscriber_check_email - FALSE and a DATA error saying why */
gboolean subscriber_check_email(const char *email, GError **error);
/* subscriber_check_text - a name or attribute value: no CR, LF or NUL */
gboolean subscriber_check_text(const char *what, const char *text,
    GError **error);
/* subscriber_email_key - the uniqueness key: the local part as given, the
 * domain lowercased (caller frees) */
char *subscriber_email_key(const char *email);
/* address_find_at - the @ that ends EMAIL's local part (a quoted local
 * part may hold one), or NULL */
const char *address_find_at(const char *email);

/* subscriber_check_key - an attribute key: [a-z_][a-z0-9_.-]*, at most 64
 * bytes, and not a field name (email, name, subscribed, created). Keys are
 * case-insensitive: callers lowercase them first (subscriber_key_fold). */
gboolean subscriber_check_key(const char *key, GError **error);
char *subscriber_key_fold(const char *key);

#endif

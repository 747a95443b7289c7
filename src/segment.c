/*
 * segment.c - the segment language: a recursive-descent parser to a small
 * tree, and the tree to SQL with bound parameters.
 *
 *   expr    := and ("or" and)*
 *   and     := unary ("and" unary)*
 *   unary   := "not" unary | primary
 *   primary := "(" expr ")" | "exists" "(" NAME ")"
 *            | NAME op VALUE | NAME ["not"] "in" "(" VALUE ("," VALUE)* ")"
 *   op      := "=" | "!=" | "<" | "<=" | ">" | ">=" | "~"
 *   VALUE   := a double-quoted string; \" and \\ escape
 *   NAME    := [A-Za-z_][A-Za-z0-9_.-]*, case-insensitive
 *
 * Keywords are case-insensitive. "not" binds tighter than "and", which binds
 * tighter than "or". A comparison on an attribute the subscriber lacks is
 * false (so is its negation by != : "role != x" wants a role); "not
 * (role = x)" is true for someone without a role.
 *
 * Fields: email (= compares the uniqueness key, so the domain is
 * case-insensitive), name, subscribed (the membership's date), created (the
 * subscriber's); dates are "YYYY-MM-DD" or "YYYY-MM-DD HH:MM" in UTC. Any
 * other name is an attribute. "~" is a glob (* ? [..]), case-insensitive.
 *
 * Attribute conditions become "m.subscriber_id IN (SELECT subscriber_id
 * FROM attributes WHERE key = ? AND value …)", which SQLite answers
 * through the attributes view: the matching pairs from attribute_values'
 * (key, value) index, then each pair's members. Must stay true: nothing the user
 * wrote reaches the SQL text; names and values are all parameters.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "segment.h"
#include "subscriber.h"

enum seg_kind { SEG_AND, SEG_OR, SEG_NOT, SEG_CMP, SEG_IN, SEG_EXISTS };
enum seg_field { F_ATTR, F_EMAIL, F_NAME, F_SUBSCRIBED, F_CREATED };
enum seg_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_GLOB };

static const char *const seg_op_sql[] = {
	[OP_EQ] = "=", [OP_NE] = "!=", [OP_LT] = "<", [OP_LE] = "<=",
	[OP_GT] = ">", [OP_GE] = ">=", [OP_GLOB] = "GLOB",
};

struct seg_node {
	enum seg_kind kind;
	struct seg_node *a, *b;		/* AND, OR: both; NOT: a */
	enum seg_field field;
	char *key;			/* attribute name (folded) */
	enum seg_op op;
	gboolean negate;		/* not in */
	GPtrArray *values;		/* char *, owned; dates normalised */
};

struct segment {
	struct seg_node *root;
};

struct seg_parser {
	const char *text;
	const char *p;
	GError **error;
};

static struct seg_node *seg_parse_or(struct seg_parser *ps);

/* seg_node_free - a node and its subtrees */
static void
seg_node_free(struct seg_node *n)
{
	if (n == NULL)
		return;
	seg_node_free(n->a);
	seg_node_free(n->b);
	g_free(n->key);
	if (n->values != NULL)
		g_ptr_array_unref(n->values);
	g_free(n);
}

/* segment_free - the compiled expression */
void
segment_free(struct segment *seg)
{
	if (seg == NULL)
		return;
	seg_node_free(seg->root);
	g_free(seg);
}

/* seg_fail - a DATA error at the parser's position: "column N: …"; the
 * column counts characters from 1 */
static void *
seg_fail(struct seg_parser *ps, const char *at, const char *what)
{
	glong col = g_utf8_pointer_to_offset(ps->text, at) + 1;

	if (ps->error != NULL && *ps->error == NULL)
		g_set_error(ps->error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "column %ld: %s", col, what);
	return NULL;
}

/* seg_skip - skip white space */
static void
seg_skip(struct seg_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	    *ps->p == '\r')
		ps->p++;
}

/* seg_name_len - length of a NAME at P, 0 if none */
static size_t
seg_name_len(const char *p)
{
	size_t n = 0;

	if (!g_ascii_isalpha(*p) && *p != '_')
		return 0;
	while (g_ascii_isalnum(p[n]) || p[n] == '_' || p[n] == '.' ||
	    p[n] == '-')
		n++;
	return n;
}

/* seg_keyword - consume keyword KW (a whole word, any case) if next */
static gboolean
seg_keyword(struct seg_parser *ps, const char *kw)
{
	size_t n = strlen(kw);

	seg_skip(ps);
	if (seg_name_len(ps->p) == n && g_ascii_strncasecmp(ps->p, kw, n) == 0) {
		ps->p += n;
		return TRUE;
	}
	return FALSE;
}

/* seg_punct - consume the punctuation C if next */
static gboolean
seg_punct(struct seg_parser *ps, char c)
{
	seg_skip(ps);
	if (*ps->p == c) {
		ps->p++;
		return TRUE;
	}
	return FALSE;
}

/* seg_name - a NAME, folded to lower case, or NULL and an error */
static char *
seg_name(struct seg_parser *ps, const char *what)
{
	size_t n;

	seg_skip(ps);
	n = seg_name_len(ps->p);
	if (n == 0)
		return seg_fail(ps, ps->p, what);
	ps->p += n;
	return g_ascii_strdown(ps->p - n, n);
}

/* seg_value - a double-quoted string, unescaped */
static char *
seg_value(struct seg_parser *ps)
{
	g_autoptr(GString) v = g_string_new(NULL);
	const char *start;

	seg_skip(ps);
	if (*ps->p != '"')
		return seg_fail(ps, ps->p, "expected a quoted value");
	start = ps->p++;
	for (; *ps->p != '"'; ps->p++) {
		if (*ps->p == '\0')
			return seg_fail(ps, start, "the quoted value is never closed");
		if (*ps->p == '\\') {
			if (ps->p[1] != '"' && ps->p[1] != '\\')
				return seg_fail(ps, ps->p,
				    "only \\\" and \\\\ may be escaped");
			ps->p++;
		}
		g_string_append_c(v, *ps->p);
	}
	ps->p++;
	if (!g_utf8_validate(v->str, v->len, NULL))
		return seg_fail(ps, start, "the value is not valid UTF-8");
	return g_string_free(g_steal_pointer(&v), FALSE);
}

/* seg_field_of - a field by name, or F_ATTR */
static enum seg_field
seg_field_of(const char *name)
{
	if (strcmp(name, "email") == 0)
		return F_EMAIL;
	if (strcmp(name, "name") == 0)
		return F_NAME;
	if (strcmp(name, "subscribed") == 0)
		return F_SUBSCRIBED;
	if (strcmp(name, "created") == 0)
		return F_CREATED;
	return F_ATTR;
}

/* seg_date - "YYYY-MM-DD[ HH:MM[:SS]]" (or with a T) as SQLite wants it,
 * or NULL */
static char *
seg_date(const char *v)
{
	int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
	size_t len = strlen(v);
	g_autoptr(GDateTime) dt = NULL;

	if (len == 10) {
		if (sscanf(v, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
			return NULL;
	} else if (len == 16 && (v[10] == ' ' || v[10] == 'T')) {
		if (sscanf(v, "%4d-%2d-%2d%*c%2d:%2d%n", &y, &mo, &d, &h, &mi,
		    &n) != 5 || n != 16)
			return NULL;
	} else if (len == 19 && (v[10] == ' ' || v[10] == 'T')) {
		if (sscanf(v, "%4d-%2d-%2d%*c%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
		    &s, &n) != 6 || n != 19)
			return NULL;
	} else
		return NULL;
	dt = g_date_time_new_utc(y, mo, d, h, mi, s);
	if (dt == NULL)
		return NULL;
	return g_date_time_format(dt, "%Y-%m-%d %H:%M:%S");
}

/* seg_node_value - check and keep V for NODE (dates normalised) */
static gboolean
seg_node_value(struct seg_parser *ps, struct seg_node *n, char *v,
    const char *at)
{
	if (n->field == F_SUBSCRIBED || n->field == F_CREATED) {
		char *d = seg_date(v);

		g_free(v);
		if (d == NULL || n->op == OP_GLOB) {
			g_free(d);
			seg_fail(ps, at, n->op == OP_GLOB ? "a date cannot be "
			    "matched with ~" : "expected a date "
			    "\"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM\"");
			return FALSE;
		}
		v = d;
	} else if (n->field == F_EMAIL && n->op != OP_GLOB) {
		char *k = subscriber_email_key(v);

		g_free(v);
		v = k;
	}
	g_ptr_array_add(n->values, v);
	return TRUE;
}

/* seg_parse_op - one of the comparison operators, or -1 */
static int
seg_parse_op(struct seg_parser *ps)
{
	static const struct { const char *s; enum seg_op op; } ops[] = {
		{ "!=", OP_NE }, { "<=", OP_LE }, { ">=", OP_GE }, { "=", OP_EQ },
		{ "<", OP_LT }, { ">", OP_GT }, { "~", OP_GLOB },
	};
	size_t i;

	seg_skip(ps);
	for (i = 0; i < G_N_ELEMENTS(ops); i++)
		if (strncmp(ps->p, ops[i].s, strlen(ops[i].s)) == 0) {
			ps->p += strlen(ops[i].s);
			return ops[i].op;
		}
	return -1;
}

/* seg_parse_in - the value list after "in" */
static struct seg_node *
seg_parse_in(struct seg_parser *ps, struct seg_node *n)
{
	n->kind = SEG_IN;
	n->op = OP_EQ;
	if (!seg_punct(ps, '('))
		return seg_fail(ps, ps->p, "expected ( after in");
	do {
		const char *at;
		char *v;

		seg_skip(ps);
		at = ps->p;
		if ((v = seg_value(ps)) == NULL ||
		    !seg_node_value(ps, n, v, at))
			return NULL;
	} while (seg_punct(ps, ','));
	if (!seg_punct(ps, ')'))
		return seg_fail(ps, ps->p, "expected , or ) in the value list");
	return n;
}

/* seg_parse_primary - a parenthesised expression or one condition */
static struct seg_node *
seg_parse_primary(struct seg_parser *ps)
{
	struct seg_node *n = NULL;
	const char *at;
	char *v;
	int op;

	seg_skip(ps);
	if (seg_punct(ps, '(')) {
		if ((n = seg_parse_or(ps)) == NULL)
			return NULL;
		if (!seg_punct(ps, ')')) {
			seg_node_free(n);
			return seg_fail(ps, ps->p, "expected )");
		}
		return n;
	}
	if (*ps->p == '\0')
		return seg_fail(ps, ps->p, "expected a condition");
	n = g_new0(struct seg_node, 1);
	n->values = g_ptr_array_new_with_free_func(g_free);
	at = ps->p;
	if (seg_keyword(ps, "exists")) {
		seg_skip(ps);
		if (*ps->p == '(') {
			ps->p++;
			n->kind = SEG_EXISTS;
			if ((n->key = seg_name(ps, "expected a name in exists()")) == NULL)
				goto fail;
			n->field = seg_field_of(n->key);
			if (!seg_punct(ps, ')')) {
				seg_fail(ps, ps->p, "expected ) after the name");
				goto fail;
			}
			return n;
		}
		ps->p = at;	/* an attribute called "exists" */
	}
	if ((n->key = seg_name(ps, "expected a name, not, exists( or (")) == NULL)
		goto fail;
	n->field = seg_field_of(n->key);
	if (seg_keyword(ps, "in")) {
		if (seg_parse_in(ps, n) == NULL)
			goto fail;
		return n;
	}
	at = ps->p;
	if (seg_keyword(ps, "not")) {
		if (!seg_keyword(ps, "in")) {
			seg_fail(ps, ps->p, "expected in after not");
			goto fail;
		}
		n->negate = TRUE;
		if (seg_parse_in(ps, n) == NULL)
			goto fail;
		return n;
	}
	seg_skip(ps);
	at = ps->p;
	if ((op = seg_parse_op(ps)) < 0) {
		seg_fail(ps, at, "expected an operator (= != < <= > >= ~ in)");
		goto fail;
	}
	n->kind = SEG_CMP;
	n->op = op;
	seg_skip(ps);
	at = ps->p;
	if ((v = seg_value(ps)) == NULL || !seg_node_value(ps, n, v, at))
		goto fail;
	return n;
fail:
	seg_node_free(n);
	return NULL;
}

/* seg_parse_unary - "not" unary | primary */
static struct seg_node *
seg_parse_unary(struct seg_parser *ps)
{
	const char *at;
	struct seg_node *n, *a;

	seg_skip(ps);
	at = ps->p;
	if (seg_keyword(ps, "not")) {
		seg_skip(ps);
		/* "not" followed by an operator is an attribute named not */
		if (strchr("=!<>~", *ps->p) == NULL || *ps->p == '\0') {
			if ((a = seg_parse_unary(ps)) == NULL)
				return NULL;
			n = g_new0(struct seg_node, 1);
			n->kind = SEG_NOT;
			n->a = a;
			return n;
		}
		ps->p = at;
	}
	return seg_parse_primary(ps);
}

/* seg_parse_binary - a left-associative chain of KW-joined SUB terms */
static struct seg_node *
seg_parse_binary(struct seg_parser *ps, const char *kw, enum seg_kind kind,
    struct seg_node *(*sub)(struct seg_parser *))
{
	struct seg_node *left = sub(ps), *right, *n;

	while (left != NULL && seg_keyword(ps, kw)) {
		if ((right = sub(ps)) == NULL) {
			seg_node_free(left);
			return NULL;
		}
		n = g_new0(struct seg_node, 1);
		n->kind = kind;
		n->a = left;
		n->b = right;
		left = n;
	}
	return left;
}

static struct seg_node *
seg_parse_and(struct seg_parser *ps)
{
	return seg_parse_binary(ps, "and", SEG_AND, seg_parse_unary);
}

static struct seg_node *
seg_parse_or(struct seg_parser *ps)
{
	return seg_parse_binary(ps, "or", SEG_OR, seg_parse_and);
}

/* segment_compile - parse EXPR; NULL and a DATA error "column N: …" */
struct segment *
segment_compile(const char *expr, GError **error)
{
	struct seg_parser ps = { expr, expr, error };
	struct seg_node *root;
	struct segment *seg;

	if (!g_utf8_validate(expr, -1, NULL)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "the expression is not valid UTF-8");
		return NULL;
	}
	if ((root = seg_parse_or(&ps)) == NULL)
		return NULL;
	seg_skip(&ps);
	if (*ps.p != '\0') {
		seg_node_free(root);
		return seg_fail(&ps, ps.p, *ps.p == ')' ? "unexpected )" :
		    "expected and, or, or the end");
	}
	seg = g_new0(struct segment, 1);
	seg->root = root;
	return seg;
}

/* seg_sql_values - "op ?" or "IN (?, …)" for N's values */
static void
seg_sql_values(const struct seg_node *n, GString *sql, GPtrArray *params,
    const char *lhs)
{
	guint i;

	if (n->kind == SEG_IN) {
		g_string_append_printf(sql, "%s %sIN (", lhs,
		    n->negate ? "NOT " : "");
		for (i = 0; i < n->values->len; i++) {
			g_string_append(sql, i > 0 ? ", ?" : "?");
			g_ptr_array_add(params, g_ptr_array_index(n->values, i));
		}
		g_string_append_c(sql, ')');
		return;
	}
	if (n->op == OP_GLOB)
		g_string_append_printf(sql, "lower(%s) GLOB lower(?)", lhs);
	else
		g_string_append_printf(sql, "%s %s ?", lhs, seg_op_sql[n->op]);
	g_ptr_array_add(params, g_ptr_array_index(n->values, 0));
}

/* seg_sql - one node */
static void
seg_sql(const struct seg_node *n, GString *sql, GPtrArray *params)
{
	static const char *const lhs[] = {
		[F_EMAIL] = "s.email_key", [F_NAME] = "s.name",
		[F_SUBSCRIBED] = "datetime(m.subscribed, 'unixepoch')",
		[F_CREATED] = "datetime(s.created, 'unixepoch')",
	};

	switch (n->kind) {
	case SEG_AND:
	case SEG_OR:
		g_string_append_c(sql, '(');
		seg_sql(n->a, sql, params);
		g_string_append(sql, n->kind == SEG_AND ? " AND " : " OR ");
		seg_sql(n->b, sql, params);
		g_string_append_c(sql, ')');
		break;
	case SEG_NOT:
		/* a NULL (a missing name) is false, so NOT of it is true */
		g_string_append(sql, "(NOT coalesce(");
		seg_sql(n->a, sql, params);
		g_string_append(sql, ", 0))");
		break;
	case SEG_EXISTS:
		if (n->field == F_ATTR) {
			g_string_append(sql, "(m.subscriber_id IN (SELECT "
			    "subscriber_id FROM attributes WHERE key = ?))");
			g_ptr_array_add(params, n->key);
		} else if (n->field == F_NAME)
			g_string_append(sql, "(s.name IS NOT NULL)");
		else
			g_string_append(sql, "(1)");
		break;
	case SEG_CMP:
	case SEG_IN:
		g_string_append_c(sql, '(');
		if (n->field == F_ATTR) {
			g_string_append(sql, "m.subscriber_id IN (SELECT "
			    "subscriber_id FROM attributes WHERE key = ? AND ");
			g_ptr_array_add(params, n->key);
			seg_sql_values(n, sql, params, "value");
			g_string_append_c(sql, ')');
		} else {
			seg_sql_values(n, sql, params,
			    n->field == F_EMAIL && n->op == OP_GLOB ? "s.email" :
			    lhs[n->field]);
			if (n->field == F_NAME)
				g_string_append(sql, " AND s.name IS NOT NULL");
		}
		g_string_append_c(sql, ')');
		break;
	}
}

/* segment_to_sql - the boolean SQL for SEG, its parameters appended */
void
segment_to_sql(const struct segment *seg, GString *sql, GPtrArray *params)
{
	seg_sql(seg->root, sql, params);
}

/* segment_bind - PARAMS as text from FIRST on */
void
segment_bind(sqlite3_stmt *st, int first, GPtrArray *params)
{
	guint i;

	for (i = 0; i < params->len; i++)
		sqlite3_bind_text(st, first + (int)i,
		    g_ptr_array_index(params, i), -1, SQLITE_STATIC);
}

/* seg_uses_subscriber - whether N's SQL names s (the subscribers row) */
static gboolean
seg_uses_subscriber(const struct seg_node *n)
{
	switch (n->kind) {
	case SEG_AND:
	case SEG_OR:
		return seg_uses_subscriber(n->a) || seg_uses_subscriber(n->b);
	case SEG_NOT:
		return seg_uses_subscriber(n->a);
	case SEG_EXISTS:
		return n->field == F_NAME;
	default:
		return n->field == F_EMAIL || n->field == F_NAME ||
		    n->field == F_CREATED;
	}
}

/* segment_count - active members of LIST_ID that SEG matches (the
 * subscribers row is joined only when the expression reads it: a count
 * over attributes then never touches that table) */
gint64
segment_count(struct store *store, gint64 list_id, const struct segment *seg,
    GError **error)
{
	g_autoptr(GString) sql = g_string_new("SELECT count(*) FROM memberships m");
	g_autoptr(GPtrArray) params = g_ptr_array_new();
	g_autoptr(sqlite3_stmt) st = NULL;
	int rc;

	if (seg_uses_subscriber(seg->root))
		g_string_append(sql, " JOIN subscribers s ON s.id = m.subscriber_id");
	g_string_append(sql, " WHERE m.list_id = ?1 AND m.status = 'active' AND ");

	segment_to_sql(seg, sql, params);
	if ((st = store_prepare(store, sql->str, error)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	segment_bind(st, 2, params);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, store->db, rc, "counting a segment");
		return -1;
	}
	return sqlite3_column_int64(st, 0);
}

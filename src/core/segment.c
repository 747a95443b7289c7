/*
 * segment.c - the segment language: a recursive-descent parser to a small
 * tree, checked and normalised (the store writes it as a query:
 * store/store_segment.c).
 *
 *   expr    := and ("or" and)*
 *   and     := unary ("and" unary)*
 *   unary   := "not" unary | primary      (a run of nots read in a loop)
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
 * Parentheses nest at most SEG_MAX_NEST deep; any number of "not" and of
 * and/or terms is fine.
 *
 * The tree is normalised once parsed, so that whatever the grammar
 * accepts can be written in a bounded query (store_segment.c writes it
 * as SQL within SQLite's limits): "not" is pushed down to the conditions
 * (De Morgan; a double negation disappears), and/or chains become one
 * node with many terms, and equality tests on one field that an "or"
 * joins (or negated ones that an "and" joins) become one IN list. Each
 * and/or node records its height and its rank (the levels of grouping a
 * flat chain of it needs: the highest of its terms', one more if two
 * share it), for a writer that must bound its nesting.
 *
 * A condition may be unknown (the value is missing); "not" makes unknown
 * false first, and a match keeps only true, so at every level unknown
 * acts as false: the formula is two-valued over its conditions, De Morgan
 * holds, and pushing "not" down changes no count (t0120 checks random
 * expressions against an evaluator written apart).
 *
 * Must stay true: nothing the user wrote becomes query text; names and
 * values stay strings in the tree, for the store to bind.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "address.h"
#include "segment.h"

#define SEG_MAX_NEST	256	/* parentheses, at most this deep */

struct seg_parser {
	const char *text;
	const char *p;
	guint depth;			/* parentheses open */
	GError **error;
};

static struct segment_node *seg_parse_or(struct seg_parser *ps);

/* seg_node_free - a node and its subtrees */
static void
seg_node_free(struct segment_node *n)
{
	guint i;

	if (n == NULL)
		return;
	if (n->kids != NULL) {
		for (i = 0; i < n->kids->len; i++)
			seg_node_free(g_ptr_array_index(n->kids, i));
		g_ptr_array_unref(n->kids);
	}
	g_free(n->key);
	if (n->values != NULL)
		g_ptr_array_unref(n->values);
	g_free(n);
}

/* seg_node_new - an AND, OR or NOT node with no terms yet */
static struct segment_node *
seg_node_new(enum segment_kind kind)
{
	struct segment_node *n = g_new0(struct segment_node, 1);

	n->kind = kind;
	n->kids = g_ptr_array_new();
	return n;
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

/* seg_field_of - a field by name, or SEG_FIELD_ATTR */
static enum segment_field
seg_field_of(const char *name)
{
	if (strcmp(name, "email") == 0)
		return SEG_FIELD_EMAIL;
	if (strcmp(name, "name") == 0)
		return SEG_FIELD_NAME;
	if (strcmp(name, "subscribed") == 0)
		return SEG_FIELD_SUBSCRIBED;
	if (strcmp(name, "created") == 0)
		return SEG_FIELD_CREATED;
	return SEG_FIELD_ATTR;
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
seg_node_value(struct seg_parser *ps, struct segment_node *n, char *v,
    const char *at)
{
	if (n->field == SEG_FIELD_SUBSCRIBED || n->field == SEG_FIELD_CREATED) {
		char *d = seg_date(v);

		g_free(v);
		if (d == NULL || n->op == SEG_OP_GLOB) {
			g_free(d);
			seg_fail(ps, at, n->op == SEG_OP_GLOB ? "a date cannot be "
			    "matched with ~" : "expected a date "
			    "\"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM\"");
			return FALSE;
		}
		v = d;
	} else if (n->field == SEG_FIELD_EMAIL && n->op != SEG_OP_GLOB) {
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
	static const struct { const char *s; enum segment_op op; } ops[] = {
		{ "!=", SEG_OP_NE }, { "<=", SEG_OP_LE }, { ">=", SEG_OP_GE },
		{ "=", SEG_OP_EQ }, { "<", SEG_OP_LT }, { ">", SEG_OP_GT },
		{ "~", SEG_OP_GLOB },
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
static struct segment_node *
seg_parse_in(struct seg_parser *ps, struct segment_node *n)
{
	n->kind = SEG_IN;
	n->op = SEG_OP_EQ;
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

/* seg_parse_cond - the rest of a condition on N, whose name is read:
 * "in (…)", "not in (…)", or an operator and a value; FALSE on error */
static gboolean
seg_parse_cond(struct seg_parser *ps, struct segment_node *n)
{
	const char *at;
	char *v;
	int op;

	if (seg_keyword(ps, "in"))
		return seg_parse_in(ps, n) != NULL;
	if (seg_keyword(ps, "not")) {
		if (!seg_keyword(ps, "in")) {
			seg_fail(ps, ps->p, "expected in after not");
			return FALSE;
		}
		n->negate = TRUE;
		return seg_parse_in(ps, n) != NULL;
	}
	seg_skip(ps);
	at = ps->p;
	if ((op = seg_parse_op(ps)) < 0) {
		seg_fail(ps, at, "expected an operator (= != < <= > >= ~ in)");
		return FALSE;
	}
	n->kind = SEG_CMP;
	n->op = op;
	seg_skip(ps);
	at = ps->p;
	return (v = seg_value(ps)) != NULL && seg_node_value(ps, n, v, at);
}

/* seg_parse_primary - a parenthesised expression or one condition */
static struct segment_node *
seg_parse_primary(struct seg_parser *ps)
{
	struct segment_node *n = NULL;
	const char *at;

	seg_skip(ps);
	at = ps->p;
	if (seg_punct(ps, '(')) {
		if (++ps->depth > SEG_MAX_NEST)
			return seg_fail(ps, at, "parentheses nested more than "
			    G_STRINGIFY(SEG_MAX_NEST) " deep");
		if ((n = seg_parse_or(ps)) == NULL)
			return NULL;
		if (!seg_punct(ps, ')')) {
			seg_node_free(n);
			return seg_fail(ps, ps->p, "expected )");
		}
		ps->depth--;
		return n;
	}
	if (*ps->p == '\0')
		return seg_fail(ps, ps->p, "expected a condition");
	n = g_new0(struct segment_node, 1);
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
	if (!seg_parse_cond(ps, n))
		goto fail;
	return n;
fail:
	seg_node_free(n);
	return NULL;
}

/* seg_parse_unary - "not"* primary: a run of "not" is read in a loop, and
 * only its parity is kept (one NOT node or none) */
static struct segment_node *
seg_parse_unary(struct seg_parser *ps)
{
	const char *at;
	struct segment_node *n, *a;
	gboolean odd = FALSE;

	for (;;) {
		seg_skip(ps);
		at = ps->p;
		if (!seg_keyword(ps, "not"))
			break;
		seg_skip(ps);
		/* "not" followed by an operator is an attribute named not */
		if (*ps->p != '\0' && strchr("=!<>~", *ps->p) != NULL) {
			ps->p = at;
			break;
		}
		odd = !odd;
	}
	if ((a = seg_parse_primary(ps)) == NULL || !odd)
		return a;
	n = seg_node_new(SEG_NOT);
	g_ptr_array_add(n->kids, a);
	return n;
}

/* seg_parse_binary - a chain of KW-joined SUB terms, one node with them all */
static struct segment_node *
seg_parse_binary(struct seg_parser *ps, const char *kw, enum segment_kind kind,
    struct segment_node *(*sub)(struct seg_parser *))
{
	struct segment_node *first = sub(ps), *right, *n;

	if (first == NULL || !seg_keyword(ps, kw))
		return first;
	n = seg_node_new(kind);
	g_ptr_array_add(n->kids, first);
	do {
		if ((right = sub(ps)) == NULL) {
			seg_node_free(n);
			return NULL;
		}
		g_ptr_array_add(n->kids, right);
	} while (seg_keyword(ps, kw));
	return n;
}

/* seg_parse_and - unary terms joined by "and" */
static struct segment_node *
seg_parse_and(struct seg_parser *ps)
{
	return seg_parse_binary(ps, "and", SEG_AND, seg_parse_unary);
}

/* seg_parse_or - "and" terms joined by "or": a whole expression */
static struct segment_node *
seg_parse_or(struct seg_parser *ps)
{
	return seg_parse_binary(ps, "or", SEG_OR, seg_parse_and);
}

/* seg_foldable - whether N is an equality test (= or in) that can join
 * others on its field in one IN list */
static gboolean
seg_foldable(const struct segment_node *n)
{
	if (n->kind != SEG_IN && !(n->kind == SEG_CMP && n->op == SEG_OP_EQ))
		return FALSE;
	return !n->negate && (n->field == SEG_FIELD_ATTR ||
	    n->field == SEG_FIELD_EMAIL || n->field == SEG_FIELD_NAME);
}

/* seg_fold - N's terms with the equality tests on one field joined: under
 * "or" the plain ones (a = "1" or a = "2" is a in ("1", "2")), under "and"
 * the negated ones (not a = "1" and not a = "2" is not a in ("1", "2")) */
static void
seg_fold(struct segment_node *n)
{
	g_autoptr(GHashTable) first = g_hash_table_new_full(g_str_hash,
	    g_str_equal, g_free, NULL);
	GPtrArray *kids = g_ptr_array_new();
	gboolean neg = n->kind == SEG_AND;
	guint i, j;

	for (i = 0; i < n->kids->len; i++) {
		struct segment_node *k = g_ptr_array_index(n->kids, i), *f;
		char *id;

		if (!seg_foldable(k) || k->neg != neg) {
			g_ptr_array_add(kids, k);
			continue;
		}
		id = g_strdup_printf("%d:%s", k->field, k->key);
		if ((f = g_hash_table_lookup(first, id)) == NULL) {
			g_hash_table_insert(first, id, k);
			g_ptr_array_add(kids, k);
			continue;
		}
		g_free(id);
		f->kind = SEG_IN;
		for (j = 0; j < k->values->len; j++)
			g_ptr_array_add(f->values,
			    g_steal_pointer(&k->values->pdata[j]));
		g_ptr_array_set_size(k->values, 0);
		seg_node_free(k);
	}
	g_ptr_array_unref(n->kids);
	n->kids = kids;
}

/* seg_norm - N (consumed) under NEG nots, normalised: nots pushed down to
 * the conditions, and/or chains in one node, equality tests folded; a
 * node left with one term is that term */
static struct segment_node *
seg_norm(struct segment_node *n, gboolean neg)
{
	struct segment_node *k, *m;
	guint i, j, r, r1, r2;

	switch (n->kind) {
	case SEG_NOT:
		k = g_ptr_array_index(n->kids, 0);
		g_ptr_array_set_size(n->kids, 0);
		seg_node_free(n);
		return seg_norm(k, !neg);
	case SEG_AND:
	case SEG_OR:
		m = seg_node_new((n->kind == SEG_AND) != neg ? SEG_AND : SEG_OR);
		for (i = 0; i < n->kids->len; i++) {
			k = seg_norm(g_ptr_array_index(n->kids, i), neg);
			if (k->kind != m->kind) {
				g_ptr_array_add(m->kids, k);
				continue;
			}
			for (j = 0; j < k->kids->len; j++)
				g_ptr_array_add(m->kids,
				    g_ptr_array_index(k->kids, j));
			g_ptr_array_set_size(k->kids, 0);
			seg_node_free(k);
		}
		g_ptr_array_set_size(n->kids, 0);
		seg_node_free(n);
		seg_fold(m);
		if (m->kids->len == 1) {
			k = g_ptr_array_index(m->kids, 0);
			g_ptr_array_set_size(m->kids, 0);
			seg_node_free(m);
			return k;
		}
		/* the rank: the highest of the terms', one more if two share it
		 * (Strahler's number); conditions all go in one group */
		r1 = r2 = 0;
		for (i = 0; i < m->kids->len; i++) {
			k = g_ptr_array_index(m->kids, i);
			m->height = MAX(m->height, k->height + 1);
			r = k->kids == NULL ? 1 : k->rank;
			if (r > r1) {
				r2 = r1;
				r1 = r;
			} else if (r > r2)
				r2 = r;
		}
		m->rank = MAX(r1, r2 + 1);
		return m;
	default:
		n->neg = n->neg != neg;
		return n;
	}
}

/* segment_compile - parse EXPR; NULL and a DATA error "column N: …" */
struct segment *
segment_compile(const char *expr, GError **error)
{
	struct seg_parser ps = { expr, expr, 0, error };
	struct segment_node *root;
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
	seg->root = seg_norm(root, FALSE);
	return seg;
}

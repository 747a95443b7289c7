/*
 * store_segment.c - a segment's normalised tree (core/segment.c) written
 * as SQL, every value a numbered parameter, and the queries that select a
 * list's active members by it.
 *
 * Attribute conditions become "m.subscriber_id IN (SELECT subscriber_id
 * FROM attributes WHERE key = ?N AND value …)", which SQLite answers
 * through the attributes view: the matching pairs from attribute_values'
 * (key, value) index, then each pair's members. A condition's SQL may be
 * unknown (NULL); "not" makes unknown false first (NOT coalesce(c,
 * FALSE)), and a WHERE or CASE WHEN keeps only true, as segment.c's
 * semantics say. The text is one for SQLite and PostgreSQL: TRUE and
 * FALSE, never 1 and 0, where a truth value is meant; bits are
 * CAST(truth AS INTEGER) and a chain of them is compared with 0.
 *
 * The text stays inside SQLite's limits (a parser stack of about 100
 * entries, an expression tree at most 1000 deep) whatever the tree: a
 * long chain is written in groups of SEG_SQL_FLAT terms; and/or nested
 * deeper than SEG_SQL_NEST levels is written, from there down, with
 * bitwise | and & over 0/1 terms, which in SQLite share one precedence
 * and associate to the left (PostgreSQL: the same for | and &, written
 * with the same parentheses): "a and (b or (c and d))" becomes
 * "(d & c | b & a) <> 0",
 * with no parentheses however deep the nesting (the tree's ranks say
 * where a group needs them).
 *
 * Must stay true: nothing the user wrote reaches the SQL text; names and
 * values are all parameters.
 */
#include <sqlite3.h>
#include <string.h>

#include "herald.h"
#include "store.h"
#include "store_dynamic.h"
#include "store_segment.h"

#define SEG_SQL_FLAT	16	/* terms joined at one level of SQL */
#define SEG_SQL_NEST	6	/* and/or levels written as AND/OR */

static const char *const seg_op_sql[] = {
	[SEG_OP_EQ] = "=", [SEG_OP_NE] = "!=", [SEG_OP_LT] = "<",
	[SEG_OP_LE] = "<=", [SEG_OP_GT] = ">", [SEG_OP_GE] = ">=",
	[SEG_OP_GLOB] = "GLOB",
};

/* the text being written and where its values go */
struct seg_sql {
	GString *sql;
	GArray *args;		/* struct store_arg, numbered ?N; or NULL: */
	GPtrArray *params;	/* a bare "?" each (segment_to_sql) */
};

/* seg_sql_param - one value: its parameter in the text, the value kept */
static void
seg_sql_param(struct seg_sql *q, const char *value)
{
	struct store_arg arg = SQ_TEXT(value);

	if (q->args == NULL) {
		g_string_append_c(q->sql, '?');
		g_ptr_array_add(q->params, (gpointer)value);
		return;
	}
	g_array_append_val(q->args, arg);
	g_string_append_printf(q->sql, "?%u", q->args->len);
}

/* seg_sql_values - "op ?N" or "IN (?N, …)" for N's values */
static void
seg_sql_values(const struct segment_node *n, struct seg_sql *q,
    const char *lhs)
{
	guint i;

	if (n->kind == SEG_IN) {
		g_string_append_printf(q->sql, "%s %sIN (", lhs,
		    n->negate ? "NOT " : "");
		for (i = 0; i < n->values->len; i++) {
			if (i > 0)
				g_string_append(q->sql, ", ");
			seg_sql_param(q, g_ptr_array_index(n->values, i));
		}
		g_string_append_c(q->sql, ')');
		return;
	}
	if (n->op == SEG_OP_GLOB) {
		/* glob(pattern, text) is "text GLOB pattern" in SQLite, and
		 * a function of the PostgreSQL schema (store.c) */
		g_string_append(q->sql, "glob(lower(");
		seg_sql_param(q, g_ptr_array_index(n->values, 0));
		g_string_append_printf(q->sql, "), lower(%s))", lhs);
		return;
	}
	g_string_append_printf(q->sql, "%s %s ", lhs, seg_op_sql[n->op]);
	seg_sql_param(q, g_ptr_array_index(n->values, 0));
}

/* seg_sql_cond - a condition, as if it had no "not" */
static void
seg_sql_cond(const struct segment_node *n, struct seg_sql *q)
{
	static const char *const lhs[] = {
		[SEG_FIELD_EMAIL] = "s.email_key", [SEG_FIELD_NAME] = "s.name",
		[SEG_FIELD_SUBSCRIBED] = "datetime(m.subscribed, 'unixepoch')",
		[SEG_FIELD_CREATED] = "datetime(s.created, 'unixepoch')",
	};

	if (n->kind == SEG_EXISTS) {
		if (n->field == SEG_FIELD_ATTR) {
			g_string_append(q->sql, "(m.subscriber_id IN (SELECT "
			    "subscriber_id FROM attributes WHERE key = ");
			seg_sql_param(q, n->key);
			g_string_append(q->sql, "))");
		} else if (n->field == SEG_FIELD_NAME)
			g_string_append(q->sql, "(s.name IS NOT NULL)");
		else
			g_string_append(q->sql, "(TRUE)");
		return;
	}
	g_string_append_c(q->sql, '(');
	if (n->field == SEG_FIELD_ATTR) {
		g_string_append(q->sql, "m.subscriber_id IN (SELECT "
		    "subscriber_id FROM attributes WHERE key = ");
		seg_sql_param(q, n->key);
		g_string_append(q->sql, " AND ");
		seg_sql_values(n, q, "value");
		g_string_append_c(q->sql, ')');
	} else {
		seg_sql_values(n, q, n->field == SEG_FIELD_EMAIL &&
		    n->op == SEG_OP_GLOB ? "s.email" : lhs[n->field]);
		if (n->field == SEG_FIELD_NAME)
			g_string_append(q->sql, " AND s.name IS NOT NULL");
	}
	g_string_append_c(q->sql, ')');
}

/* seg_sql_term - a condition with its "not"; BITS: as 0 or 1, for | and &
 * (a "not" makes unknown false first: a missing name is not "x") */
static void
seg_sql_term(const struct segment_node *n, gboolean bits, struct seg_sql *q)
{
	if (!n->neg && !bits) {
		seg_sql_cond(n, q);
		return;
	}
	if (bits)
		g_string_append(q->sql, "CAST(");
	g_string_append(q->sql, n->neg ? "(NOT coalesce(" : "coalesce(");
	seg_sql_cond(n, q);
	g_string_append(q->sql, n->neg ? ", FALSE))" : ", FALSE)");
	if (bits)
		g_string_append(q->sql, " AS INTEGER)");
}

static void seg_sql_node(const struct segment_node *n, guint level,
    struct seg_sql *q);
static void seg_sql_bits(const struct segment_node *n, struct seg_sql *q);

/* seg_sql_kid - one term of an and/or: BITS as 0 or 1, else at LEVEL */
static void
seg_sql_kid(const struct segment_node *k, gboolean bits, guint level,
    struct seg_sql *q)
{
	if (k->kids == NULL)
		seg_sql_term(k, bits, q);
	else if (!bits)
		seg_sql_node(k, level, q);
	else {
		g_string_append_c(q->sql, '(');
		seg_sql_bits(k, q);
		g_string_append_c(q->sql, ')');
	}
}

/* seg_sql_list - N's terms FROM to TO, parenthesised, joined by AND/OR (by
 * & and | if BITS), SEG_SQL_FLAT at most to a level: a longer run is cut
 * into parenthesised groups, so neither SQLite's parser stack nor its
 * expression tree grows with the number of terms */
static void
seg_sql_list(const struct segment_node *n, guint from, guint to,
    gboolean bits, guint level, struct seg_sql *q)
{
	const char *op = n->kind == SEG_AND ? (bits ? " & " : " AND ") :
	    (bits ? " | " : " OR ");
	guint i, step = 1;

	while ((to - from + step - 1) / step > SEG_SQL_FLAT)
		step *= SEG_SQL_FLAT;
	g_string_append_c(q->sql, '(');
	for (i = from; i < to; i += step) {
		if (i > from)
			g_string_append(q->sql, op);
		if (step == 1)
			seg_sql_kid(g_ptr_array_index(n->kids, i), bits,
			    level + 1, q);
		else
			seg_sql_list(n, i, MIN(i + step, to), bits, level + 1,
			    q);
	}
	g_string_append_c(q->sql, ')');
}

/* seg_sql_bits - and/or node N as a left-to-right chain of | and & over 0
 * and 1: first the chain of its term of highest rank, then the other terms
 * (its conditions as one group). A term goes into parentheses only when
 * another of its node ranks as high or higher, so the parentheses nest no
 * deeper than the rank (at most log2 of the number of conditions), however
 * deep the and/or nesting */
static void
seg_sql_bits(const struct segment_node *n, struct seg_sql *q)
{
	g_autoptr(GPtrArray) conds = g_ptr_array_new();
	g_autoptr(GPtrArray) rest = g_ptr_array_new();
	struct segment_node cgroup = { .kind = n->kind, .kids = conds };
	struct segment_node group = { .kind = n->kind, .kids = rest };
	const char *op = n->kind == SEG_AND ? " & " : " | ";
	const struct segment_node *top = NULL;
	guint i;

	for (i = 0; i < n->kids->len; i++) {
		const struct segment_node *k = g_ptr_array_index(n->kids, i);

		if (k->kids != NULL && (top == NULL || k->rank > top->rank))
			top = k;
	}
	for (i = 0; i < n->kids->len; i++) {
		struct segment_node *k = g_ptr_array_index(n->kids, i);

		if (k != top)
			g_ptr_array_add(k->kids == NULL ? conds : rest, k);
	}
	if (top == NULL) {
		seg_sql_list(n, 0, n->kids->len, TRUE, 0, q);
		return;
	}
	if (conds->len == 1)
		g_ptr_array_add(rest, g_ptr_array_index(conds, 0));
	else if (conds->len > 1)
		g_ptr_array_add(rest, &cgroup);
	seg_sql_bits(top, q);
	if (rest->len > SEG_SQL_FLAT) {
		g_string_append(q->sql, op);
		seg_sql_list(&group, 0, rest->len, TRUE, 0, q);
		return;
	}
	for (i = 0; i < rest->len; i++) {
		const struct segment_node *k = g_ptr_array_index(rest, i);

		g_string_append(q->sql, op);
		if (k == &cgroup)
			seg_sql_list(&cgroup, 0, conds->len, TRUE, 0, q);
		else
			seg_sql_kid(k, TRUE, 0, q);
	}
}

/* seg_sql_node - N at LEVEL of AND/OR nesting: past SEG_SQL_NEST the rest
 * of the tree is written as bits */
static void
seg_sql_node(const struct segment_node *n, guint level, struct seg_sql *q)
{
	if (n->kids == NULL)
		seg_sql_term(n, FALSE, q);
	else if (level + n->height <= SEG_SQL_NEST)
		seg_sql_list(n, 0, n->kids->len, FALSE, level, q);
	else {
		g_string_append(q->sql, "((");
		seg_sql_bits(n, q);
		g_string_append(q->sql, ") <> 0)");
	}
}

/* store_segment_sql - the boolean SQL for SEG, its values numbered */
void
store_segment_sql(const struct segment *seg, GString *sql, GArray *args)
{
	struct seg_sql q = { sql, args, NULL };

	seg_sql_node(seg->root, 0, &q);
}

/* seg_uses_subscriber - whether N's SQL names s (the subscribers row) */
static gboolean
seg_uses_subscriber(const struct segment_node *n)
{
	guint i;

	switch (n->kind) {
	case SEG_AND:
	case SEG_OR:
		for (i = 0; i < n->kids->len; i++)
			if (seg_uses_subscriber(g_ptr_array_index(n->kids, i)))
				return TRUE;
		return FALSE;
	case SEG_EXISTS:
		return n->field == SEG_FIELD_NAME;
	default:
		return n->field == SEG_FIELD_EMAIL ||
		    n->field == SEG_FIELD_NAME || n->field == SEG_FIELD_CREATED;
	}
}

/* seg_args_new - an array of store_arg holding ?1 = LIST_ID */
static GArray *
seg_args_new(gint64 list_id)
{
	GArray *args = g_array_new(FALSE, FALSE, sizeof(struct store_arg));
	struct store_arg arg = SQ_INT(list_id);

	g_array_append_val(args, arg);
	return args;
}

/* store_segment_select - see store_segment.h */
struct store_rows *
store_segment_select(struct store *store, const char *head, gint64 list_id,
    const struct segment *seg, const char *tail, GError **error)
{
	g_autoptr(GString) sql = g_string_new(head);
	g_autoptr(GArray) args = seg_args_new(list_id);

	g_string_append(sql, " WHERE m.list_id = ?1 AND m.status = 'active'");
	if (seg != NULL) {
		g_string_append(sql, " AND ");
		store_segment_sql(seg, sql, args);
	}
	g_string_append(sql, tail);
	return store_select_dynamic(store, sql->str,
	    (const struct store_arg *)(void *)args->data, args->len, error);
}

/* store_segment_member - see store_segment.h */
int
store_segment_member(struct store *store, gint64 list_id,
    const struct segment *seg, gint64 sub_id, GError **error)
{
	g_autoptr(GString) sql = g_string_new("SELECT count(*) FROM"
	    " memberships m JOIN subscribers s ON s.id = m.subscriber_id"
	    " WHERE m.list_id = ?1 AND m.status = 'active' AND"
	    " m.subscriber_id = ?2 AND ");
	g_autoptr(GArray) args = seg_args_new(list_id);
	struct store_arg arg = SQ_INT(sub_id);
	g_autoptr(store_rows) rows = NULL;

	g_array_append_val(args, arg);
	store_segment_sql(seg, sql, args);
	if ((rows = store_select_dynamic(store, sql->str,
	    (const struct store_arg *)(void *)args->data, args->len,
	    error)) == NULL)
		return -1;
	return store_one_row(rows, "matching a segment", error) ?
	    store_int(rows, 0) > 0 : -1;
}

/* store_segment_count - active members of LIST_ID that SEG matches (the
 * subscribers row is joined only when the expression reads it: a count
 * over attributes then never touches that table) */
gint64
store_segment_count(struct store *store, gint64 list_id,
    const struct segment *seg, GError **error)
{
	g_autoptr(store_rows) rows = store_segment_select(store,
	    seg_uses_subscriber(seg->root) ? "SELECT count(*) FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id" :
	    "SELECT count(*) FROM memberships m", list_id, seg, "", error);

	return store_one_row(rows, "counting a segment", error) ?
	    store_int(rows, 0) : -1;
}


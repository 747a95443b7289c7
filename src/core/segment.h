/*
 * segment.h - segment expressions over subscriber fields and attributes,
 * parsed, checked and normalised to a small tree; the store turns the tree
 * into its query language (store/store_segment.h: SQL with bound
 * parameters).
 *
 *   role in ("developer", "maintainer") and region = "us-east"
 *   not exists(company)      email ~ "*@citrix.com"
 *   subscribed < "2014-06-01"    name != "x"    (a or b) and not c
 *
 * Fields: email, name, subscribed (membership date, "YYYY-MM-DD[ HH:MM]"),
 * created; any other name is an attribute. Operators: = != < <= > >= ~
 * (glob, case-insensitive) in (…), exists(NAME), and, or, not, parentheses.
 * Values are double-quoted strings. A syntax error is a DATA error
 * "column N: what".
 *
 * Must stay true: the tree keeps what the user wrote only as names and
 * values (strings), never as query text; a condition on an attribute the
 * subscriber lacks is false, and so is its negation by != (segment.c).
 */
#ifndef HERALD_SEGMENT_H
#define HERALD_SEGMENT_H

#include <glib.h>

enum segment_kind {
	SEG_AND, SEG_OR,		/* and/or: two terms or more */
	SEG_NOT,			/* only while parsing: gone once normalised */
	SEG_CMP, SEG_IN, SEG_EXISTS,	/* the conditions */
};

enum segment_field {
	SEG_FIELD_ATTR, SEG_FIELD_EMAIL, SEG_FIELD_NAME, SEG_FIELD_SUBSCRIBED,
	SEG_FIELD_CREATED,
};

enum segment_op {
	SEG_OP_EQ, SEG_OP_NE, SEG_OP_LT, SEG_OP_LE, SEG_OP_GT, SEG_OP_GE,
	SEG_OP_GLOB,
};

/*
 * One node of the normalised tree: an and/or with its terms (every term a
 * condition or an and/or of the other kind), or a condition (kids NULL)
 * that NEG negates. Equality tests on one field that an "or" joins (or
 * negated ones that an "and" joins) are one SEG_IN. HEIGHT and RANK tell
 * a writer how deep the and/or nesting goes below a node and how many
 * levels of grouping a flat chain of it needs (Strahler's number).
 */
struct segment_node {
	enum segment_kind kind;
	GPtrArray *kids;		/* AND, OR: the terms; NOT: one */
	guint height;			/* and/or levels below, 0 for a condition */
	guint rank;			/* levels of grouping a chain needs */
	gboolean neg;			/* a condition under "not" */
	enum segment_field field;
	char *key;			/* the field's or attribute's name (folded) */
	enum segment_op op;		/* CMP; EQ for IN */
	gboolean negate;		/* not in */
	GPtrArray *values;		/* char *, owned; dates "YYYY-MM-DD HH:MM:SS",
					 * an email = compares the key */
};

struct segment {
	struct segment_node *root;	/* normalised */
};

struct segment *segment_compile(const char *expr, GError **error);
void segment_free(struct segment *seg);


/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct segment segment;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(segment, segment_free)

#endif

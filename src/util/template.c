/*
 * template.c - herald's Mustache engine: sources are compiled once into a
 * node tree, which is then rendered many times, from many threads.
 *
 * Design. The parser reads a source one logical line at a time (a line
 * ends at a newline that is not inside a tag, so a comment may span lines)
 * and turns it into tokens: text and tags. At the end of each line it
 * decides whether the line is "standalone" and then builds nodes from the
 * tokens. Text becomes TEXT nodes (adjacent text merged), tags become
 * variable, section, inverted, partial, parent and block nodes; comments
 * and set-delimiter tags leave nothing behind. Rendering walks the nodes
 * against a context stack that lives on the C stack, appending to the
 * caller's GString; it does not allocate except to grow that string (and,
 * for indentation deeper than a small buffer, a temporary copy).
 *
 * Standalone lines. A line that holds only spaces, tabs and tags that
 * print nothing by themselves (sections, inverted sections, closing tags,
 * comments, set delimiters, partials, parents, blocks), with at most one
 * tag that expands a template (a partial, a parent, or a block opened and
 * closed on that line), vanishes from the output together with its
 * newline. That is the spec's rule extended to lines with several tags,
 * which the inheritance cases need ("{{<parent}}{{$block}}"). Its
 * leading whitespace becomes the indentation of the partial or parent on
 * it: prepended to every line that template's own text begins, never to
 * the lines of an interpolated value. A partial or parent that is not
 * standalone starts with no indentation (the spec's "Inline Indentation").
 *
 * Blocks ({{$name}}...{{/name}}) are expansion sites, or, directly inside
 * a parent tag, the overrides passed to it. An override opened on a
 * standalone line loses the indentation of its first line from each of its
 * lines at compile time; a site adds its own when it expands an override:
 * the whitespace of the line after a standalone opening tag, or the
 * whitespace before the tag otherwise. A block opened and closed alone on
 * one line ("  {{$b}}{{/b}}") keeps that line's newline after a non-empty
 * expansion that does not end in one: a herald decision that makes the
 * spec's "Standalone block" case and ordinary layouts both come out
 * right. Overrides of outer parent tags win over inner ones.
 *
 * What must stay true:
 * - After template_set_check() nothing in the set is written: rendering
 *   reads nodes and values only, so renders run in parallel. Check is the
 *   only code that writes node->target; template_set_add() clears the
 *   checked flag, and template_render() refuses an unchecked set.
 * - Names in variable and section tags are split and hashed at compile
 *   time with value_hash_key(), so rendering never hashes or splits.
 * - Partial, parent and override expansions nest at most
 *   TEMPLATE_MAX_DEPTH deep, and tags in one source TEMPLATE_MAX_NESTING
 *   deep; past that is an error, never a stack overflow, since rendering,
 *   freeing and checking recurse. One render writes at most
 *   TEMPLATE_MAX_OUTPUT bytes: past that is an error, never a machine
 *   out of memory.
 *
 * MISSING collects the names of variables, sections and inverted sections
 * that resolved to nothing (a name bound to null is not missing), so an
 * inverted section over an absent flag is reported too.
 *
 * DIAGNOSTICS. Every error is HERALD_ERROR / HERALD_ERROR_DATA with a
 * message "FILE:LINE:COL: what" (COL counts characters from 1), except a
 * render of an unchecked set (HERALD_ERROR_SOFTWARE) and unreadable files
 * in template_set_add_dir() (NOINPUT or IO). After a failed render OUT
 * holds what was rendered up to the error.
 */
#include <stdarg.h>
#include <string.h>

#include "herald.h"
#include "template.h"

#define TEMPLATE_MAX_DEPTH 64	/* partials, parents, overrides in each other */
#define TEMPLATE_MAX_NESTING 100	/* sections, parents, blocks in one source */
/* the most one render writes: sections nested over lists multiply (17
 * levels over a 6-item list, found by fuzzing, would write petabytes);
 * an announcement part is a few tens of KB, and herald pipe takes 10 MB */
#define TEMPLATE_MAX_OUTPUT (16 * 1024 * 1024)
#define TEMPLATE_SUFFIX ".mustache"
#define TEMPLATE_NONE G_MAXSIZE

enum tnode_kind {
	TNODE_TEXT,
	TNODE_VAR,		/* {{x}}: escaped in HTML mode */
	TNODE_RAW,		/* {{{x}}}, {{& x}} */
	TNODE_SECTION,		/* {{#x}} */
	TNODE_INVERTED,		/* {{^x}} */
	TNODE_PARTIAL,		/* {{>x}} */
	TNODE_PARENT,		/* {{<x}}: kids are the override blocks */
	TNODE_BLOCK,		/* {{$x}}: kids are the default or override */
};

struct tname_part {
	char *key;
	gsize len;
	guint hash;
};

struct tname {
	char *full;		/* as written: for MISSING, errors, closing */
	guint nparts;		/* 0: the implicit iterator "." */
	struct tname_part *parts;
};

struct tnode {
	enum tnode_kind kind;
	gboolean bol;		/* begins a line of its template's source */
	gboolean standalone;	/* its line was removed from the output */
	gboolean override;	/* a block directly inside a parent tag */
	gsize pos;		/* byte offset of the tag, for errors */
	char *text;		/* TEXT */
	gsize len;
	struct tname name;
	const char *indent;	/* partial/parent: standalone indentation; */
	gsize indent_len;	/* block site: indentation added to overrides */
	const char *eol;	/* block alone on its line: that line's newline */
	gsize eol_len;
	gsize strip;		/* override: indentation removed from its lines */
	struct tnode *kids;
	guint nkids;
	const struct template *target;	/* partial/parent, set by check */
};

struct template {
	char *name;
	char *filename;
	char *source;		/* kept: nodes point into it, errors count in it */
	struct tnode root;
};

struct template_set {
	GHashTable *templates;	/* name -> struct template */
	gboolean checked;
};

/* A token of the line being parsed. SIGIL is 0 for text, 'v' for a
 * variable, '&' for a raw variable (either form), or the tag's sigil. */
struct ttoken {
	char sigil;
	const char *s;		/* the text, or the tag's trimmed content */
	gsize len;
	gsize pos;		/* offset of the text or of the opening delimiter */
};

struct topen {			/* a section, parent or block being parsed */
	struct tnode node;
	GArray *kids;		/* struct tnode */
};

struct tparser {
	struct template *tpl;
	const char *src;
	gsize end;
	gsize pos;
	GString *otag;
	GString *ctag;
	GString *ctag_brace;	/* "}" + ctag, closes {{{x}}} */
	GString *ctag_eq;	/* "=" + ctag, closes {{=a b=}} */
	GArray *line;		/* struct ttoken */
	GArray *stack;		/* struct topen; [0] is the template itself */
	GString *pending;	/* text not yet made a node */
	gboolean pending_bol;
	gboolean bol;		/* the next node begins a source line */
	gsize strip;		/* indentation removed from each line here */
	GError **error;
};

struct tframe {			/* a context pushed by a section */
	struct value *v;
	const struct tframe *up;
};

struct tover {			/* a parent tag being expanded */
	const struct tnode *parent;
	const struct template *tpl;	/* where its overrides were written */
	const struct tover *outer;
};

struct trender {
	struct value *const *stack;
	guint nstack;
	enum template_escape escape;
	GString *out;
	gsize base;		/* out->len when the render began */
	GPtrArray *missing;
	const char *indent;
	gsize indent_len;
	const struct tover *over;	/* innermost parent tag */
	guint depth;
	GError **error;
};

static gboolean trender_nodes(struct trender *, const struct template *,
    const struct tnode *, guint, const struct tframe *);

/* template_where - the line and column (in characters) of offset POS */
static void
template_where(const struct template *t, gsize pos, guint *line, guint *col)
{
	const char *p, *ls;

	*line = 1;
	*col = 1;
	ls = t->source;
	for (p = t->source; p < t->source + pos && *p != '\0'; p++)
		if (*p == '\n') {
			(*line)++;
			ls = p + 1;
		}
	for (; ls < p; ls++)
		if (((guchar)*ls & 0xc0) != 0x80)
			(*col)++;
}

/* template_error - set ERROR to "FILE:LINE:COL: what" for offset POS of T */
static void G_GNUC_PRINTF(4, 5)
template_error(GError **error, const struct template *t, gsize pos,
    const char *fmt, ...)
{
	g_autofree char *what = NULL;
	guint line, col;
	va_list ap;

	template_where(t, pos, &line, &col);
	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA, "%s:%u:%u: %s",
	    t->filename, line, col, what);
}

/* tname_clear - free what NAME holds */
static void
tname_clear(struct tname *name)
{
	guint i;

	for (i = 0; i < name->nparts; i++)
		g_free(name->parts[i].key);
	g_free(name->parts);
	g_free(name->full);
	memset(name, 0, sizeof(*name));
}

/* tnode_clear - free what NODE holds, its kids included */
static void
tnode_clear(struct tnode *node)
{
	guint i;

	for (i = 0; i < node->nkids; i++)
		tnode_clear(&node->kids[i]);
	g_free(node->kids);
	g_free(node->text);
	tname_clear(&node->name);
	memset(node, 0, sizeof(*node));
}

/* template_free - free T and its nodes */
static void
template_free(gpointer data)
{
	struct template *t = data;

	tnode_clear(&t->root);
	g_free(t->name);
	g_free(t->filename);
	g_free(t->source);
	g_free(t);
}

/* tparser_is_space - a space or a tab: what indentation is made of */
static inline gboolean
tparser_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* tparser_find - offset of NEEDLE in SRC[FROM..TO), or TEMPLATE_NONE */
static gsize
tparser_find(const char *src, gsize from, gsize to, const GString *needle)
{
	const char *q;

	while (from + needle->len <= to) {
		q = memchr(src + from, needle->str[0],
		    to - from - needle->len + 1);
		if (q == NULL)
			break;
		if (memcmp(q, needle->str, needle->len) == 0)
			return q - src;
		from = q - src + 1;
	}
	return TEMPLATE_NONE;
}

/* tparser_set_delimiters - make OPEN and CLOSE the tag delimiters */
static void
tparser_set_delimiters(struct tparser *p, const char *open, gsize olen,
    const char *close, gsize clen)
{
	g_string_assign(p->otag, "");
	g_string_append_len(p->otag, open, olen);
	g_string_assign(p->ctag, "");
	g_string_append_len(p->ctag, close, clen);
	g_string_assign(p->ctag_brace, "}");
	g_string_append_len(p->ctag_brace, close, clen);
	g_string_assign(p->ctag_eq, "=");
	g_string_append_len(p->ctag_eq, close, clen);
}

/* tparser_delimiters - apply the set-delimiter tag content S (LEN bytes):
 * two words, neither holding "=" */
static gboolean
tparser_delimiters(struct tparser *p, const char *s, gsize len, gsize pos)
{
	gsize a = 0, b, c, d;

	for (b = a; b < len && !g_ascii_isspace(s[b]); b++)
		;
	for (c = b; c < len && g_ascii_isspace(s[c]); c++)
		;
	for (d = c; d < len && !g_ascii_isspace(s[d]); d++)
		;
	if (b == a || d == c || d != len || memchr(s, '=', len) != NULL) {
		template_error(p->error, p->tpl, pos,
		    "bad delimiter tag: want two delimiters without '='");
		return FALSE;
	}
	tparser_set_delimiters(p, s + a, b - a, s + c, d - c);
	return TRUE;
}

/* tparser_tag - read the tag whose opening delimiter is at O into TOK and
 * move past it; set-delimiter tags take effect here, before the rest of
 * the line is read */
static gboolean
tparser_tag(struct tparser *p, gsize o, struct ttoken *tok)
{
	const GString *needle = p->ctag;
	const char *s;
	gsize c, close;
	char sigil;
	guint i;

	c = o + p->otag->len;
	sigil = c < p->end ? p->src[c] : '\0';
	switch (sigil) {
	case '{':
		needle = p->ctag_brace;
		c++;
		break;
	case '=':
		needle = p->ctag_eq;
		c++;
		break;
	case '&': case '#': case '^': case '/': case '!': case '>':
	case '<': case '$':
		c++;
		break;
	default:
		sigil = 'v';
		break;
	}
	close = tparser_find(p->src, c, p->end, needle);
	if (close == TEMPLATE_NONE) {
		template_error(p->error, p->tpl, o, "unclosed tag: no '%s'",
		    needle->str);
		return FALSE;
	}
	p->pos = close + needle->len;
	for (s = p->src + c; s < p->src + close && g_ascii_isspace(*s); s++)
		;
	while (close > (gsize)(s - p->src) && g_ascii_isspace(p->src[close - 1]))
		close--;
	tok->sigil = sigil == '{' ? '&' : sigil;
	tok->s = s;
	tok->len = p->src + close - s;
	tok->pos = o;
	if (sigil == '=')
		return tparser_delimiters(p, tok->s, tok->len, o);
	if (sigil == '!')
		return TRUE;
	if (tok->len == 0) {
		template_error(p->error, p->tpl, o, "empty tag");
		return FALSE;
	}
	for (i = 0; i < tok->len; i++)
		if (g_ascii_isspace(tok->s[i])) {
			template_error(p->error, p->tpl, o,
			    "bad tag name '%.*s'", (int)tok->len, tok->s);
			return FALSE;
		}
	return TRUE;
}

/* tparser_scan_line - read one logical line into p->line: the indentation
 * being stripped goes first, then text and tags up to and including the
 * first newline outside a tag (or the end of the source) */
static gboolean
tparser_scan_line(struct tparser *p)
{
	struct ttoken tok;
	const char *nl;
	gsize i, eol, o;

	g_array_set_size(p->line, 0);
	for (i = 0; i < p->strip && p->pos < p->end &&
	    tparser_is_space(p->src[p->pos]); i++)
		p->pos++;
	while (p->pos < p->end) {
		nl = memchr(p->src + p->pos, '\n', p->end - p->pos);
		eol = nl != NULL ? (gsize)(nl - p->src) : p->end;
		o = tparser_find(p->src, p->pos, eol, p->otag);
		memset(&tok, 0, sizeof(tok));
		if (o == TEMPLATE_NONE) {
			eol = nl != NULL ? eol + 1 : eol;
			tok.s = p->src + p->pos;
			tok.len = eol - p->pos;
			tok.pos = p->pos;
			g_array_append_val(p->line, tok);
			p->pos = eol;
			break;
		}
		if (o > p->pos) {
			tok.s = p->src + p->pos;
			tok.len = o - p->pos;
			tok.pos = p->pos;
			g_array_append_val(p->line, tok);
		}
		if (!tparser_tag(p, o, &tok))
			return FALSE;
		g_array_append_val(p->line, tok);
	}
	return TRUE;
}

/* tparser_top - the section, parent or block innermost at this point */
static struct topen *
tparser_top(struct tparser *p)
{
	return &g_array_index(p->stack, struct topen, p->stack->len - 1);
}

/* tparser_add - append NODE (now owned by the list) to the innermost list */
static void
tparser_add(struct tparser *p, struct tnode *node)
{
	g_array_append_vals(tparser_top(p)->kids, node, 1);
}

/* tparser_flush_text - turn the pending text into a TEXT node */
static void
tparser_flush_text(struct tparser *p)
{
	struct tnode node;

	if (p->pending->len == 0)
		return;
	memset(&node, 0, sizeof(node));
	node.kind = TNODE_TEXT;
	node.bol = p->pending_bol;
	node.len = p->pending->len;
	node.text = g_strndup(p->pending->str, p->pending->len);
	tparser_add(p, &node);
	g_string_truncate(p->pending, 0);
}

/* tparser_text - add S (LEN bytes) to the pending text */
static void
tparser_text(struct tparser *p, const char *s, gsize len)
{
	if (len == 0)
		return;
	if (p->pending->len == 0)
		p->pending_bol = p->bol;
	g_string_append_len(p->pending, s, len);
	p->bol = s[len - 1] == '\n';
}

/* tparser_name - fill NAME from the tag TOK; with SPLIT, a dotted name is
 * split into hashed parts ("." has none) */
static gboolean
tparser_name(struct tparser *p, const struct ttoken *tok, gboolean split,
    struct tname *name)
{
	const char *s, *dot, *end;
	struct tname_part *part;
	guint n = 1;

	memset(name, 0, sizeof(*name));
	name->full = g_strndup(tok->s, tok->len);
	if (!split || strcmp(name->full, ".") == 0)
		return TRUE;
	for (s = name->full; (s = strchr(s, '.')) != NULL; s++)
		n++;
	name->parts = g_new0(struct tname_part, n);
	end = name->full + tok->len;
	for (s = name->full; s <= end; s = dot + 1) {
		dot = memchr(s, '.', end - s);
		if (dot == NULL)
			dot = end;
		if (dot == s) {
			template_error(p->error, p->tpl, tok->pos,
			    "bad name '%s'", name->full);
			tname_clear(name);
			return FALSE;
		}
		part = &name->parts[name->nparts++];
		part->len = dot - s;
		part->key = g_strndup(s, part->len);
		part->hash = value_hash_key(s, part->len);
	}
	return TRUE;
}

/* tparser_peek_indent - the indentation of the next line, past what is
 * being stripped */
static gsize
tparser_peek_indent(struct tparser *p, const char **start)
{
	gsize q = p->pos, i;

	for (i = 0; i < p->strip && q < p->end &&
	    tparser_is_space(p->src[q]); i++)
		q++;
	*start = p->src + q;
	for (i = 0; q + i < p->end && tparser_is_space(p->src[q + i]); i++)
		;
	return i;
}

/* tparser_open - start a section, inverted section, parent or block */
static gboolean
tparser_open(struct tparser *p, const struct ttoken *tok,
    gboolean standalone, gboolean pair, const char *indent, gsize indent_len,
    const char *eol, gsize eol_len)
{
	struct topen open;
	struct tnode *node = &open.node;

	if (p->stack->len > TEMPLATE_MAX_NESTING) {
		template_error(p->error, p->tpl, tok->pos,
		    "sections nested more than %d deep", TEMPLATE_MAX_NESTING);
		return FALSE;
	}
	memset(&open, 0, sizeof(open));
	node->pos = tok->pos;
	node->standalone = standalone;
	node->bol = standalone ? FALSE : p->bol;
	switch (tok->sigil) {
	case '#':
		node->kind = TNODE_SECTION;
		break;
	case '^':
		node->kind = TNODE_INVERTED;
		break;
	case '<':
		node->kind = TNODE_PARENT;
		if (standalone) {
			node->indent = indent;
			node->indent_len = indent_len;
		}
		break;
	default:
		node->kind = TNODE_BLOCK;
		node->override = tparser_top(p)->node.kind == TNODE_PARENT;
		if (node->override) {
			if (standalone && !pair) {
				node->strip = tparser_peek_indent(p,
				    &node->indent);
				p->strip += node->strip;
			}
		} else if (standalone && !pair) {
			node->indent_len = tparser_peek_indent(p,
			    &node->indent);
		} else {
			node->indent = indent;
			node->indent_len = indent_len;
			if (pair) {
				node->eol = eol;
				node->eol_len = eol_len;
			}
		}
		break;
	}
	if (!tparser_name(p, tok, node->kind == TNODE_SECTION ||
	    node->kind == TNODE_INVERTED, &node->name))
		return FALSE;
	open.kids = g_array_new(FALSE, TRUE, sizeof(struct tnode));
	g_array_append_val(p->stack, open);
	p->bol = FALSE;
	return TRUE;
}

/* tparser_close - end the innermost section, parent or block, which must
 * be the one TOK names */
static gboolean
tparser_close(struct tparser *p, const struct ttoken *tok)
{
	struct topen *top = tparser_top(p);
	struct tnode node, *kid;
	guint i, n;

	if (p->stack->len == 1) {
		template_error(p->error, p->tpl, tok->pos,
		    "'%.*s' closed but never opened", (int)tok->len, tok->s);
		return FALSE;
	}
	if (strlen(top->node.name.full) != tok->len ||
	    memcmp(top->node.name.full, tok->s, tok->len) != 0) {
		guint line, col;

		template_where(p->tpl, top->node.pos, &line, &col);
		template_error(p->error, p->tpl, tok->pos,
		    "'%.*s' closes '%s' opened at %u:%u", (int)tok->len,
		    tok->s, top->node.name.full, line, col);
		return FALSE;
	}
	node = top->node;
	if (node.kind == TNODE_PARENT) {
		/* text and tags in a parent tag other than blocks are ignored */
		for (i = n = 0; i < top->kids->len; i++) {
			kid = &g_array_index(top->kids, struct tnode, i);
			if (kid->kind == TNODE_BLOCK)
				g_array_index(top->kids, struct tnode, n++) = *kid;
			else
				tnode_clear(kid);
		}
		g_array_set_size(top->kids, n);
	}
	if (node.override)
		p->strip -= node.strip;
	node.nkids = top->kids->len;
	node.kids = (struct tnode *)g_array_free(top->kids, node.nkids == 0);
	g_array_set_size(p->stack, p->stack->len - 1);
	tparser_add(p, &node);
	p->bol = FALSE;
	return TRUE;
}

/* tparser_emit - build what the tag TOK stands for */
static gboolean
tparser_emit(struct tparser *p, const struct ttoken *tok,
    gboolean standalone, gboolean pair, const char *indent, gsize indent_len,
    const char *eol, gsize eol_len)
{
	struct tnode node;

	if (tok->sigil == '!' || tok->sigil == '=')
		return TRUE;
	tparser_flush_text(p);
	switch (tok->sigil) {
	case 'v':
	case '&':
	case '>':
		memset(&node, 0, sizeof(node));
		node.kind = tok->sigil == 'v' ? TNODE_VAR :
		    tok->sigil == '&' ? TNODE_RAW : TNODE_PARTIAL;
		node.pos = tok->pos;
		node.standalone = standalone;
		node.bol = standalone ? FALSE : p->bol;
		if (standalone) {
			node.indent = indent;
			node.indent_len = indent_len;
		}
		if (!tparser_name(p, tok, node.kind != TNODE_PARTIAL,
		    &node.name))
			return FALSE;
		tparser_add(p, &node);
		p->bol = FALSE;
		return TRUE;
	case '/':
		return tparser_close(p, tok);
	default:
		return tparser_open(p, tok, standalone, pair, indent,
		    indent_len, eol, eol_len);
	}
}

/* tparser_pair - whether the block tag LINE[I] is closed on its own line
 * with nothing but whitespace between */
static gboolean
tparser_pair(const struct ttoken *line, guint n, guint i)
{
	guint j;

	for (j = i + 1; j < n && line[j].sigil == '\0'; j++)
		;
	return j < n && line[j].sigil == '/' && line[j].len == line[i].len &&
	    memcmp(line[j].s, line[i].s, line[i].len) == 0;
}

/* tparser_flush_line - decide whether the line just read is standalone
 * and build its nodes */
static gboolean
tparser_flush_line(struct tparser *p)
{
	const struct ttoken *t = (const struct ttoken *)p->line->data;
	guint n = p->line->len, i, tags = 0, expansions = 0;
	const char *eol = NULL;
	gsize lead = 0, eol_len = 0, k, len;
	gboolean standalone = TRUE, blank = TRUE, lead_ws = FALSE;

	for (i = 0; i < n; i++) {
		switch (t[i].sigil) {
		case '\0':
			len = t[i].len;
			if (i == n - 1 && t[i].s[len - 1] == '\n') {
				len--;
				if (len > 0 && t[i].s[len - 1] == '\r')
					len--;
				eol = t[i].s + len;
				eol_len = t[i].len - len;
			}
			for (k = 0; k < len && blank; k++)
				blank = tparser_is_space(t[i].s[k]);
			if (i == 0) {
				lead = len;
				lead_ws = blank;
			}
			break;
		case 'v':
		case '&':
			standalone = FALSE;
			break;
		case '>':
		case '<':
			tags++;
			expansions++;
			break;
		case '$':
			tags++;
			if (tparser_pair(t, n, i))
				expansions++;
			break;
		default:
			tags++;
			break;
		}
	}
	if (!blank || tags == 0 || expansions > 1)
		standalone = FALSE;
	for (i = 0; i < n; i++) {
		const char *indent = "";
		gsize indent_len = 0;

		if (t[i].sigil == '\0') {
			if (!standalone)
				tparser_text(p, t[i].s, t[i].len);
			continue;
		}
		/* the line's leading whitespace, for a tag that comes first */
		if (lead_ws && (standalone || i == 1)) {
			indent = t[0].s;
			indent_len = lead;
		}
		if (!tparser_emit(p, &t[i], standalone, t[i].sigil == '$' &&
		    tparser_pair(t, n, i), indent, indent_len, eol,
		    standalone ? eol_len : 0))
			return FALSE;
	}
	if (standalone)
		p->bol = TRUE;
	return TRUE;
}

/* tparser_run - compile P's source into p->tpl->root */
static gboolean
tparser_run(struct tparser *p)
{
	struct topen root, *top;

	memset(&root, 0, sizeof(root));
	root.kids = g_array_new(FALSE, TRUE, sizeof(struct tnode));
	g_array_append_val(p->stack, root);
	while (p->pos < p->end)
		if (!tparser_scan_line(p) || !tparser_flush_line(p))
			return FALSE;
	tparser_flush_text(p);
	top = tparser_top(p);
	if (p->stack->len > 1) {
		template_error(p->error, p->tpl, top->node.pos,
		    "'%s' is never closed", top->node.name.full);
		return FALSE;
	}
	p->tpl->root.nkids = top->kids->len;
	p->tpl->root.kids = (struct tnode *)g_array_free(top->kids,
	    top->kids->len == 0);
	g_array_set_size(p->stack, 0);
	return TRUE;
}

/* template_compile - compile SOURCE into a new template, NULL on error */
static struct template *
template_compile(const char *name, const char *source, const char *filename,
    GError **error)
{
	struct template *t;
	struct tparser p;
	struct topen *open;
	gboolean ok;
	guint i;

	t = g_new0(struct template, 1);
	t->name = g_strdup(name);
	t->filename = g_strdup(filename != NULL ? filename : name);
	t->source = g_strdup(source);
	memset(&p, 0, sizeof(p));
	p.tpl = t;
	p.src = t->source;
	p.end = strlen(t->source);
	p.otag = g_string_new(NULL);
	p.ctag = g_string_new(NULL);
	p.ctag_brace = g_string_new(NULL);
	p.ctag_eq = g_string_new(NULL);
	tparser_set_delimiters(&p, "{{", 2, "}}", 2);
	p.line = g_array_new(FALSE, FALSE, sizeof(struct ttoken));
	p.stack = g_array_new(FALSE, FALSE, sizeof(struct topen));
	p.pending = g_string_new(NULL);
	p.bol = TRUE;
	p.error = error;
	ok = tparser_run(&p);
	for (i = 0; i < p.stack->len; i++) {
		open = &g_array_index(p.stack, struct topen, i);
		tnode_clear(&open->node);
		while (open->kids->len > 0) {
			tnode_clear(&g_array_index(open->kids, struct tnode,
			    open->kids->len - 1));
			g_array_set_size(open->kids, open->kids->len - 1);
		}
		g_array_free(open->kids, TRUE);
	}
	g_array_free(p.stack, TRUE);
	g_array_free(p.line, TRUE);
	g_string_free(p.pending, TRUE);
	g_string_free(p.otag, TRUE);
	g_string_free(p.ctag, TRUE);
	g_string_free(p.ctag_brace, TRUE);
	g_string_free(p.ctag_eq, TRUE);
	if (!ok) {
		template_free(t);
		return NULL;
	}
	return t;
}

/* template_set_new - an empty set */
struct template_set *
template_set_new(void)
{
	struct template_set *set = g_new0(struct template_set, 1);

	set->templates = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	    template_free);
	return set;
}

/* template_set_free - free SET and every template in it */
void
template_set_free(struct template_set *set)
{
	if (set == NULL)
		return;
	g_hash_table_destroy(set->templates);
	g_free(set);
}

/* template_set_add - compile SOURCE as NAME, replacing any NAME before */
gboolean
template_set_add(struct template_set *set, const char *name,
    const char *source, const char *filename, GError **error)
{
	struct template *t;

	g_return_val_if_fail(set != NULL && name != NULL && source != NULL,
	    FALSE);
	t = template_compile(name, source, filename, error);
	if (t == NULL)
		return FALSE;
	g_hash_table_replace(set->templates, t->name, t);
	set->checked = FALSE;
	return TRUE;
}

/* template_set_add_dir - add every DIR/<name>.mustache as <name> */
gboolean
template_set_add_dir(struct template_set *set, const char *dir,
    GError **error)
{
	g_autoptr(GDir) d = NULL;
	g_autoptr(GError) tmp = NULL;
	const char *entry;
	gsize len, slen = strlen(TEMPLATE_SUFFIX);

	d = g_dir_open(dir, 0, &tmp);
	if (d == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT, "%s",
		    tmp->message);
		return FALSE;
	}
	while ((entry = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = NULL;
		g_autofree char *name = NULL;
		g_autofree char *source = NULL;

		len = strlen(entry);
		if (len <= slen || strcmp(entry + len - slen,
		    TEMPLATE_SUFFIX) != 0)
			continue;
		path = g_build_filename(dir, entry, NULL);
		if (!g_file_get_contents(path, &source, NULL, &tmp)) {
			g_set_error(error, HERALD_ERROR,
			    tmp->code == G_FILE_ERROR_NOENT ?
			    HERALD_ERROR_NOINPUT : HERALD_ERROR_IO, "%s",
			    tmp->message);
			return FALSE;
		}
		name = g_strndup(entry, len - slen);
		if (!template_set_add(set, name, source, path, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
template_set_has(const struct template_set *set, const char *name)
{
	return set != NULL && name != NULL &&
	    g_hash_table_contains(set->templates, name);
}

/* template_resolve - point every partial and parent under NODE at its
 * template; without ALLOW_MISSING a missing one is an error */
static gboolean
template_resolve(struct template_set *set, const struct template *t,
    struct tnode *node, gboolean allow_missing, GError **error)
{
	guint i;

	if (node->kind == TNODE_PARTIAL || node->kind == TNODE_PARENT) {
		node->target = g_hash_table_lookup(set->templates,
		    node->name.full);
		if (node->target == NULL && !allow_missing) {
			template_error(error, t, node->pos, "no %s '%s'",
			    node->kind == TNODE_PARTIAL ? "partial" :
			    "parent template", node->name.full);
			return FALSE;
		}
	}
	for (i = 0; i < node->nkids; i++)
		if (!template_resolve(set, t, &node->kids[i], allow_missing,
		    error))
			return FALSE;
	return TRUE;
}

/* template_set_check - resolve every partial and parent, see template.h */
gboolean
template_set_check(struct template_set *set, gboolean allow_missing,
    GError **error)
{
	GHashTableIter it;
	gpointer value;
	struct template *t;

	g_return_val_if_fail(set != NULL, FALSE);
	set->checked = FALSE;
	g_hash_table_iter_init(&it, set->templates);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		t = value;
		if (!template_resolve(set, t, &t->root, allow_missing, error))
			return FALSE;
	}
	set->checked = TRUE;
	return TRUE;
}

/* trender_missing - note NAME in r->missing, once */
static void
trender_missing(struct trender *r, const struct tname *name)
{
	guint i;

	if (r->missing == NULL)
		return;
	for (i = 0; i < r->missing->len; i++)
		if (strcmp(g_ptr_array_index(r->missing, i), name->full) == 0)
			return;
	g_ptr_array_add(r->missing, g_strdup(name->full));
}

/* trender_lookup - resolve NAME: its first part up the context stack from
 * F, the rest strictly down from there; NULL if it resolves to nothing */
static struct value *
trender_lookup(const struct trender *r, const struct tframe *f,
    const struct tname *name)
{
	const struct tname_part *part = name->parts;
	struct value *v = NULL;
	guint i;

	if (name->nparts == 0)
		return f != NULL ? f->v :
		    r->nstack > 0 ? r->stack[r->nstack - 1] : NULL;
	for (; f != NULL && v == NULL; f = f->up)
		v = value_map_get_hashed(f->v, part->key, part->len,
		    part->hash);
	for (i = r->nstack; i > 0 && v == NULL; i--)
		v = value_map_get_hashed(r->stack[i - 1], part->key,
		    part->len, part->hash);
	for (i = 1; i < name->nparts && v != NULL; i++)
		v = value_map_get_hashed(v, name->parts[i].key,
		    name->parts[i].len, name->parts[i].hash);
	return v;
}

/* trender_put - append N bytes of S to OUT: g_string_append_len without
 * the call when the room is there (GLib 2.74 does not inline it) */
static inline void
trender_put(GString *out, const char *s, gsize n)
{
	if (out->len + n < out->allocated_len) {
		memcpy(out->str + out->len, s, n);
		out->len += n;
		out->str[out->len] = '\0';
	} else
		g_string_append_len(out, s, n);
}

/* trender_bol_indent - write the indentation if the output is at the
 * start of a line */
static inline void
trender_bol_indent(struct trender *r)
{
	GString *out = r->out;

	if (r->indent_len > 0 &&
	    (out->len == r->base || out->str[out->len - 1] == '\n'))
		trender_put(out, r->indent, r->indent_len);
}

/* trender_blank - whether the line at S (before END) is empty */
static inline gboolean
trender_blank(const char *s, const char *end)
{
	return *s == '\n' || (*s == '\r' && s + 1 < end && s[1] == '\n');
}

/* trender_text - write a TEXT node, indenting each line it begins */
static void
trender_text(struct trender *r, const struct tnode *node)
{
	const char *s = node->text, *end = s + node->len, *nl;

	if (r->indent_len == 0) {
		trender_put(r->out, s, node->len);
		return;
	}
	if (node->bol && !trender_blank(s, end))
		trender_bol_indent(r);
	while ((nl = memchr(s, '\n', end - s)) != NULL && nl + 1 < end) {
		trender_put(r->out, s, nl + 1 - s);
		s = nl + 1;
		if (!trender_blank(s, end))
			trender_put(r->out, r->indent, r->indent_len);
	}
	trender_put(r->out, s, end - s);
}

/* trender_escape - append S with & < > " ' written as HTML entities */
static void
trender_escape(GString *out, const char *s)
{
	static const guint8 special[256] = {
		['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1, ['\''] = 1,
	};
	const char *run;

	for (run = s; *s != '\0'; s++) {
		if (!special[(guchar)*s])
			continue;
		trender_put(out, run, s - run);
		switch (*s) {
		case '&':
			trender_put(out, "&amp;", 5);
			break;
		case '<':
			trender_put(out, "&lt;", 4);
			break;
		case '>':
			trender_put(out, "&gt;", 4);
			break;
		case '"':
			trender_put(out, "&quot;", 6);
			break;
		default:
			trender_put(out, "&#39;", 5);
			break;
		}
		run = s + 1;
	}
	trender_put(out, run, s - run);
}

/* trender_var - write a variable; only strings can need escaping */
static void
trender_var(struct trender *r, const struct tnode *node,
    const struct tframe *f)
{
	struct value *v = trender_lookup(r, f, &node->name);

	if (v == NULL) {
		trender_missing(r, &node->name);
		return;
	}
	if (node->bol)
		trender_bol_indent(r);
	if (value_kind(v) != VALUE_STRING)
		value_to_text(v, r->out);
	else if (node->kind == TNODE_VAR && r->escape == TEMPLATE_ESCAPE_HTML)
		trender_escape(r->out, value_string(v));
	else
		trender_put(r->out, value_string(v), strlen(value_string(v)));
}

/* trender_section - a section renders once per list item, once for any
 * other true value (pushed as the context), never for a false one; an
 * inverted section renders once, for a false value only */
static gboolean
trender_section(struct trender *r, const struct template *t,
    const struct tnode *node, const struct tframe *f)
{
	struct value *v = trender_lookup(r, f, &node->name);
	struct tframe frame;
	guint i, n;

	if (v == NULL)
		trender_missing(r, &node->name);
	if (node->bol)
		trender_bol_indent(r);
	if (node->kind == TNODE_INVERTED)
		return value_truthy(v) ||
		    trender_nodes(r, t, node->kids, node->nkids, f);
	frame.up = f;
	if (value_kind(v) == VALUE_LIST) {
		n = value_list_length(v);
		for (i = 0; i < n; i++) {
			if (r->out->len - r->base > TEMPLATE_MAX_OUTPUT) {
				template_error(r->error, t, node->pos, "the "
				    "render is over %d MB (sections nested "
				    "over lists?)", TEMPLATE_MAX_OUTPUT >> 20);
				return FALSE;
			}
			frame.v = value_list_index(v, i);
			if (!trender_nodes(r, t, node->kids, node->nkids,
			    &frame))
				return FALSE;
		}
		return TRUE;
	}
	if (!value_truthy(v))
		return TRUE;
	frame.v = v;
	return trender_nodes(r, t, node->kids, node->nkids, &frame);
}

/* trender_with_indent - render KIDS of T with ADD appended to the current
 * indentation (or, with RESET, instead of it) and one level deeper */
static gboolean
trender_with_indent(struct trender *r, const struct template *t,
    const struct tnode *at, const struct tnode *kids, guint nkids,
    const struct tframe *f, const char *add, gsize add_len, gboolean reset)
{
	const char *saved = r->indent;
	gsize saved_len = r->indent_len;
	char local[256];
	char *heap = NULL, *buf;
	gboolean ok;

	if (r->depth >= TEMPLATE_MAX_DEPTH) {
		template_error(r->error, t, at->pos,
		    "'%s' nested more than %d deep (endless recursion?)",
		    at->name.full, TEMPLATE_MAX_DEPTH);
		return FALSE;
	}
	if (reset) {
		r->indent = add;
		r->indent_len = add_len;
	} else if (add_len > 0) {
		buf = saved_len + add_len <= sizeof(local) ? local :
		    (heap = g_malloc(saved_len + add_len));
		memcpy(buf, saved, saved_len);
		memcpy(buf + saved_len, add, add_len);
		r->indent = buf;
		r->indent_len = saved_len + add_len;
	}
	r->depth++;
	ok = trender_nodes(r, t, kids, nkids, f);
	r->depth--;
	r->indent = saved;
	r->indent_len = saved_len;
	g_free(heap);
	return ok;
}

/* trender_expand - a partial or parent: its template with this context;
 * a parent also makes its overrides visible to the blocks within */
static gboolean
trender_expand(struct trender *r, const struct template *t,
    const struct tnode *node, const struct tframe *f)
{
	const struct template *target = node->target;
	struct tover over;
	gboolean ok;

	if (target == NULL)
		return TRUE;	/* missing, and allowed to be */
	if (node->bol)
		trender_bol_indent(r);
	if (node->kind == TNODE_PARENT) {
		over.parent = node;
		over.tpl = t;
		over.outer = r->over;
		r->over = &over;
	}
	ok = trender_with_indent(r, target, node, target->root.kids,
	    target->root.nkids, f, node->standalone ? node->indent : "",
	    node->standalone ? node->indent_len : 0, !node->standalone);
	if (node->kind == TNODE_PARENT)
		r->over = over.outer;
	return ok;
}

/* trender_block - a block: the outermost override of its name, reindented
 * for this site, or else its own default content */
static gboolean
trender_block(struct trender *r, const struct template *t,
    const struct tnode *node, const struct tframe *f)
{
	const struct tnode *found = NULL;
	const struct template *where = NULL;
	const struct tover *o;
	gsize before;
	guint i;

	for (o = r->over; o != NULL; o = o->outer)
		for (i = 0; i < o->parent->nkids; i++)
			if (strcmp(o->parent->kids[i].name.full,
			    node->name.full) == 0) {
				found = &o->parent->kids[i];
				where = o->tpl;
				break;
			}
	if (node->bol)
		trender_bol_indent(r);
	if (found == NULL)
		return trender_nodes(r, t, node->kids, node->nkids, f);
	before = r->out->len;
	if (!trender_with_indent(r, where, node, found->kids, found->nkids, f,
	    node->indent, node->indent_len, FALSE))
		return FALSE;
	if (node->eol_len > 0 && r->out->len > before &&
	    r->out->str[r->out->len - 1] != '\n')
		trender_put(r->out, node->eol, node->eol_len);
	return TRUE;
}

/* trender_nodes - render the list KIDS of template T in context F */
static gboolean
trender_nodes(struct trender *r, const struct template *t,
    const struct tnode *kids, guint nkids, const struct tframe *f)
{
	const struct tnode *node;
	guint i;

	for (i = 0; i < nkids; i++) {
		node = &kids[i];
		switch (node->kind) {
		case TNODE_TEXT:
			trender_text(r, node);
			break;
		case TNODE_VAR:
		case TNODE_RAW:
			trender_var(r, node, f);
			break;
		case TNODE_SECTION:
		case TNODE_INVERTED:
			if (!trender_section(r, t, node, f))
				return FALSE;
			break;
		case TNODE_PARTIAL:
		case TNODE_PARENT:
			if (!trender_expand(r, t, node, f))
				return FALSE;
			break;
		case TNODE_BLOCK:
			if (!trender_block(r, t, node, f))
				return FALSE;
			break;
		}
	}
	return TRUE;
}

/* template_render - render NAME against STACK into OUT, see template.h */
gboolean
template_render(const struct template_set *set, const char *name,
    struct value *const *stack, guint n, enum template_escape escape,
    GString *out, GPtrArray *missing, GError **error)
{
	const struct template *t;
	struct trender r;

	g_return_val_if_fail(set != NULL && name != NULL && out != NULL,
	    FALSE);
	if (!set->checked) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "template set rendered before template_set_check()");
		return FALSE;
	}
	t = g_hash_table_lookup(set->templates, name);
	if (t == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "no template '%s'", name);
		return FALSE;
	}
	memset(&r, 0, sizeof(r));
	r.stack = stack;
	r.nstack = stack != NULL ? n : 0;
	r.escape = escape;
	r.out = out;
	r.base = out->len;
	r.missing = missing;
	r.indent = "";
	r.error = error;
	return trender_nodes(&r, t, t->root.kids, t->root.nkids, NULL);
}

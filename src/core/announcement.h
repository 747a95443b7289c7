/*
 * announcement.h - an announcement: its data file (libconfuse, edited by the
 * community manager), the kind's templates (subject, text, HTML, partials,
 * layouts) compiled once, and the data as a value tree for rendering.
 *
 * A data file names its kind (`kind = "summit"`); the kind's templates live
 * in TEMPLATES/KIND/ ({subject,text,html}.mustache) and the shared partials
 * and layouts in TEMPLATES/partials/. ANNOUNCEMENT on the command line is a
 * path to a data file, or a kind name, which means that kind's example data
 * (TEMPLATES/KIND/example.conf).
 *
 * The templates folder: `templates = "DIR"` in the data file (relative to
 * it), else $HERALD_TEMPLATES, else ../templates beside the configuration
 * file's folder, else ./templates, else DATADIR/herald/templates.
 *
 * Must stay true: a loaded announcement is read-only and may be shared by
 * many threads. Every error is DATA (or NOINPUT for a missing file) and
 * names FILE:LINE (data) or FILE:LINE:COL (templates): a missing required
 * field, a bad date or time zone, a bad URL, a line break in a one-line
 * field, an unknown option, a template that does not compile.
 */
#ifndef HERALD_ANNOUNCEMENT_H
#define HERALD_ANNOUNCEMENT_H

#include <glib.h>
#include "config.h"
#include "template.h"
#include "value.h"

/* one event for the optional text/calendar part (summit) */
struct announcement_event {
	char *id;		/* the section title: part of the UID */
	char *name;
	char *location;		/* venue, city */
	char *url;		/* registration link, may be NULL */
	gint64 start;		/* unix time */
	gint64 end;		/* unix time, > start */
	gboolean all_day;	/* dates without times: whole days */
};

/* one segment an `audience = {…}` names, and the line of that audience */
struct announcement_audience {
	char *segment;
	int line;
};

struct announcement {
	char *kind;		/* "summit", "talks", "sponsorship" */
	char *name;		/* the data file's base name without .conf */
	char *file;		/* the data file read */
	char *templates;	/* the templates folder used */
	struct value *data;	/* the data file as a map (see doc/guide/announcements.md) */
	struct template_set *set;	/* "subject", "text", "html" + partials */
	gboolean calendar;	/* add a text/calendar part */
	GPtrArray *events;	/* struct announcement_event *, for the calendar */
	GPtrArray *audiences;	/* struct announcement_audience *, file order */
};

/* announcement_load - read KIND_OR_PATH (see above), validate it, and
 * compile its templates; CONFIG (may be NULL) helps find the templates.
 * NULL and a DATA/NOINPUT error naming FILE:LINE on failure. Call it in
 * one thread (libconfuse's lexer is global). */
struct announcement *announcement_load(const char *kind_or_path,
    const struct config *config, GError **error);
void announcement_free(struct announcement *ann);

/* announcement_check_audience - every segment ANN's audiences name is a
 * segment of LIST; else a DATA error at the data file's line */
gboolean announcement_check_audience(const struct announcement *ann,
    const struct list_config *list, GError **error);

/* announcement_kinds - the kinds herald knows, NULL-terminated (static) */
const char *const *announcement_kinds(void);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct announcement announcement;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(announcement, announcement_free)

#endif

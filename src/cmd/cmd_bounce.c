/*
 * cmd_bounce.c - "herald bounce scan FILE...": run the bounce classifier
 * over files (or "-" for stdin) with no configuration and no database.
 *
 * Output, one line per file, in the order given:
 *	FILE <TAB> RECIPIENTS <TAB> KIND <TAB> STATUS <TAB> REASON
 * RECIPIENTS comma-separated and lowercase, empty when the file is no
 * failure report; KIND the kind all recipients share (hard, soft), else
 * unknown; STATUS and REASON those of the first recipient.
 *
 * Must stay true: a file that cannot be read or parsed is named on stderr
 * and skipped, and the command then ends with EX_NOINPUT (66); a bad
 * subcommand or option ends with EX_USAGE (64) and a one-line hint;
 * otherwise 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "bounce.h"
#include "cmd.h"
#include "herald.h"

/* cmd_bounce_open - parse the message in PATH ("-": stdin). */
static GMimeMessage *
cmd_bounce_open(const char *path, GError **error)
{
	GMimeStream *stream;
	GMimeMessage *msg;
	int fd;

	if (strcmp(path, "-") == 0) {
		fd = dup(STDIN_FILENO);
		if (fd < 0) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT,
			    "stdin: %s", g_strerror(errno));
			return NULL;
		}
		stream = g_mime_stream_pipe_new(fd);
	} else {
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT,
			    "%s: %s", path, g_strerror(errno));
			return NULL;
		}
		stream = g_mime_stream_pipe_new(fd);
	}
	msg = bounce_parse_stream(stream, error);
	g_object_unref(stream);
	if (msg == NULL && error != NULL && *error != NULL)
		g_prefix_error(error, "%s: ", path);
	return msg;
}

static gboolean cmd_bounce_verbose;

/* cmd_bounce_line - print the scan line of REPORT for PATH; with -v add
 * the method and the first recipient's diagnostic on one line. */
static void
cmd_bounce_line(const char *path, const struct bounce_report *report)
{
	GString *line = g_string_new(path);
	const struct bounce_recipient *first = NULL;
	guint i;

	g_string_append_c(line, '\t');
	for (i = 0; i < report->recipients->len; i++) {
		const struct bounce_recipient *r =
		    g_ptr_array_index(report->recipients, i);

		if (i == 0)
			first = r;
		else
			g_string_append_c(line, ',');
		g_string_append(line, r->address);
	}
	g_string_append_printf(line, "\t%s\t%s\t%s\n",
	    bounce_kind_name(bounce_report_kind(report)),
	    first != NULL && first->status != NULL ? first->status : "",
	    first != NULL ? bounce_reason_name(first->reason) : "");
	if (cmd_bounce_verbose) {
		g_autofree char *d = g_strdup(first != NULL &&
		    first->diagnostic != NULL ? first->diagnostic : "");

		g_strdelimit(d, "\t\r\n", ' ');
		g_string_truncate(line, line->len - 1);
		g_string_append_printf(line, "\t%s\t%s\n",
		    report->method != NULL ? report->method : "", d);
	}
	fputs(line->str, stdout);
	g_string_free(line, TRUE);
}

/* cmd_bounce_scan - "bounce scan FILE...". */
static int
cmd_bounce_scan(int argc, char **argv)
{
	GOptionEntry entries[] = {
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &cmd_bounce_verbose,
		    "Add the method and the remote reply as two more columns",
		    NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	int i, status = EX_OK;

	if (!cmd_parse("bounce scan", "FILE...",
	    "Classify bounce messages; \"-\" reads stdin.", entries, &argc,
	    &argv))
		return EX_USAGE;
	if (argc < 2) {
		fprintf(stderr, "herald bounce scan: no FILE given "
		    "(try \"herald bounce scan --help\")\n");
		return EX_USAGE;
	}
	for (i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		GMimeMessage *msg = cmd_bounce_open(argv[i], &error);
		struct bounce_report *report = NULL;

		if (msg == NULL) {
			fprintf(stderr, "herald bounce scan: %s\n",
			    error->message);
			status = EX_NOINPUT;
			continue;
		}
		if (!bounce_classify(msg, &report, &error)) {
			fprintf(stderr, "herald bounce scan: %s: %s\n",
			    argv[i], error->message);
			status = EX_NOINPUT;
		} else
			cmd_bounce_line(argv[i], report);
		bounce_report_free(report);
		g_object_unref(msg);
	}
	fflush(stdout);
	return status;
}

/* cmd_bounce - "herald bounce SUBCOMMAND ...": only "scan" so far. */
int
cmd_bounce(struct herald *h, int argc, char **argv)
{
	(void)h;
	if (argc >= 2 && cmd_is_help(argv[1]))
		return cmd_help_verbs("bounce", "VERB …", "Work with returned mail "
		    "without a configuration or a database.",
		    "Verbs:\n"
		    "  scan [-v] FILE…    classify bounce messages (\"-\" reads "
		    "stdin)\n");
	if (argc < 2) {
		fprintf(stderr, "herald bounce: a subcommand is needed "
		    "(try \"herald bounce scan FILE...\")\n");
		return EX_USAGE;
	}
	if (strcmp(argv[1], "scan") == 0)
		return cmd_bounce_scan(argc - 1, argv + 1);
	fprintf(stderr, "herald bounce: unknown subcommand \"%s\" "
	    "(try \"herald bounce scan FILE...\")\n", argv[1]);
	return EX_USAGE;
}

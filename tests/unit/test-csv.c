/*
 * test-csv.c - the CSV reader (csv.c) on what RFC 4180 allows (quoted
 * commas, doubled quotes, quoted line breaks, CRLF or LF, a byte order
 * mark, blank lines) and on what it must refuse record by record: a NUL
 * byte, invalid UTF-8, a quote inside an unquoted field, text after a
 * closing quote, a quoted field never closed, a broken byte order mark.
 * A bad record is reported with the line it starts on and why, and the
 * reader goes on with the next one; a read error is an error. Records
 * longer than the reader's buffer; the writer's quoting.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "csv.h"

static char *tmpdir;

/* open_bytes - a stream over LEN bytes of TEXT (a file: the reader uses
 * read(2) on the descriptor, so fmemopen will not do) */
static FILE *
open_bytes(const char *text, gssize len)
{
	g_autofree char *path = g_build_filename(tmpdir, "in.csv", NULL);
	FILE *fp;

	g_assert_true(g_file_set_contents(path, text, len, NULL));
	fp = fopen(path, "r");
	g_assert_nonnull(fp);
	return fp;
}

/* records - read every record of LEN bytes of TEXT into one line each:
 * "LINE:a|b|c" for a record, "LINE!why" for a bad one */
static char *
records(const char *text, gssize len)
{
	FILE *fp = open_bytes(text, len < 0 ? (gssize)strlen(text) : len);
	g_autoptr(csv_reader) r = csv_reader_new(fp);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	enum csv_result res;
	guint i;

	while ((res = csv_read(r, &error)) != CSV_EOF) {
		g_assert_no_error(error);
		g_assert_cmpint(res, !=, CSV_ERROR);
		if (out->len > 0)
			g_string_append_c(out, '\n');
		if (res == CSV_BAD) {
			g_string_append_printf(out, "%d!%s", csv_line(r),
			    csv_why(r));
			continue;
		}
		g_string_append_printf(out, "%d:", csv_line(r));
		for (i = 0; i < csv_nfields(r); i++)
			g_string_append_printf(out, "%s%s", i > 0 ? "|" : "",
			    csv_field(r, i));
	}
	fclose(fp);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* check - the records of TEXT (LEN bytes, -1: a string) are WANT */
static void
check(const char *text, gssize len, const char *want)
{
	g_autofree char *got = records(text, len);

	if (strcmp(got, want) != 0)
		g_error("for \"%s\":\ngot:\n%s\nwanted:\n%s", text, got, want);
}

static void
test_good(void)
{
	check("email,name\na@b.test,Ann\n", -1, "1:email|name\n2:a@b.test|Ann");
	check("a,b\r\nc,d\r\n", -1, "1:a|b\n2:c|d");
	check("a,b\nc,d", -1, "1:a|b\n2:c|d");		/* no final line end */
	check("\xef\xbb\xbf" "email\nx\n", -1, "1:email\n2:x");
	check("a\n\n\r\nb\n", -1, "1:a\n4:b");		/* blank lines skipped */
	check("\"a,b\",\"say \"\"hi\"\"\",c\n", -1, "1:a,b|say \"hi\"|c");
	check("\"two\nlines\",x\nnext\n", -1, "1:two\nlines|x\n3:next");
	check(",,\n", -1, "1:||");
	check("\"\",x\n", -1, "1:|x");
	check("Zo\xc3\xab,\xe2\x82\xac\n", -1, "1:Zo\xc3\xab|\xe2\x82\xac");
	check("", 0, "");
}

static void
test_nul(void)
{
	check("a,b\0c,d\ne,f\n", 12, "1!a NUL byte\n2:e|f");
	check("\"a\0\",b\ne\n", 9, "1!a NUL byte\n2:e");
	check("\0\nok\n", 5, "1!a NUL byte\n2:ok");
}

static void
test_utf8(void)
{
	check("a,caf\xe9\nb,ok\n", -1, "1!invalid UTF-8\n2:b|ok");
	check("\"x\n\xff\",y\nz\n", -1, "1!invalid UTF-8\n3:z");
	/* a sequence cut short at the end of a field, an overlong one, a
	 * surrogate */
	check("\xc3,x\n", -1, "1!invalid UTF-8");
	check("\xc0\xaf\n", -1, "1!invalid UTF-8");
	check("\xed\xa0\x80\n", -1, "1!invalid UTF-8");
	/* a good sequence split by a comma is two bad fields */
	check("\xe2\x82,\xac\n", -1, "1!invalid UTF-8");
}

static void
test_quotes(void)
{
	check("a,Jo \"Jo\" Jo,b\nok\n", -1,
	    "1!a quote inside an unquoted field\n2:ok");
	check("x\"\nok\n", -1, "1!a quote inside an unquoted field\n2:ok");
	check("\"a\"b,c\nok\n", -1, "1!text after a closing quote\n2:ok");
	check("\"a\" ,c\nok\n", -1, "1!text after a closing quote\n2:ok");
	check("a\n\"never\nclosed,b\n", -1,
	    "1:a\n2!a quoted field is never closed");
	/* the first fault of a record is the one named */
	check("a\"b,\xff\n", -1, "1!a quote inside an unquoted field");
	check("a\"\0\n", 4, "1!a quote inside an unquoted field");
}

static void
test_bom(void)
{
	check("\xef\xbb" "x,y\nz\n", -1, "1!a broken byte order mark\n2:z");
	/* a byte order mark only counts at the start of the file */
	check("a\n\xef\xbb\xbf" "b\n", -1, "1:a\n2:\xef\xbb\xbf" "b");
}

/* test_long - records around and past the 64 KiB buffer */
static void
test_long(void)
{
	g_autoptr(GString) in = g_string_new("h\n");
	g_autoptr(GString) want = g_string_new("1:h");
	g_autofree char *fill = g_strnfill(65535, 'a');
	int n;

	for (n = 2; in->len < 200000; n++) {
		g_autofree char *big = g_strnfill(7000 + n * 37, 'a' + n % 26);

		if (n % 5 == 0) {
			g_string_append_printf(in, "\"%s,\n%s\"\n", big, big);
			g_string_append_printf(want, "\n%d:%s,\n%s", n, big, big);
			n++;
		} else {
			g_string_append_printf(in, "%s,%d\n", big, n);
			g_string_append_printf(want, "\n%d:%s|%d", n, big, n);
		}
	}
	check(in->str, in->len, want->str);
	/* a two-byte character, then a NUL, straddling the buffer's end */
	g_string_assign(in, fill);
	g_string_append(in, "\xc3\xa9,x\nlast\n");
	g_string_assign(want, "1:");
	g_string_append_len(want, in->str, 65535);
	g_string_append(want, "\xc3\xa9|x\n2:last");
	check(in->str, in->len, want->str);
	g_string_truncate(in, 65535);
	g_string_append_len(in, "\0,x\nlast\n", 9);
	check(in->str, in->len, "1!a NUL byte\n2:last");
}

/* test_read_error - a read that fails is CSV_ERROR with the reason */
static void
test_read_error(void)
{
	FILE *fp = fopen(tmpdir, "r");
	g_autoptr(csv_reader) r = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_nonnull(fp);
	r = csv_reader_new(fp);
	g_assert_cmpint(csv_read(r, &error), ==, CSV_ERROR);
	g_assert_error(error, HERALD_ERROR, herald_errno_class(EISDIR));
	g_assert_nonnull(strstr(error->message, g_strerror(EISDIR)));
	fclose(fp);
}

static void
test_append_field(void)
{
	g_autoptr(GString) out = g_string_new(NULL);

	csv_append_field(out, "plain");
	g_string_append_c(out, ',');
	csv_append_field(out, "a,b");
	g_string_append_c(out, ',');
	csv_append_field(out, "say \"hi\"");
	g_string_append_c(out, ',');
	csv_append_field(out, "two\nlines");
	g_string_append_c(out, ',');
	csv_append_field(out, NULL);
	g_assert_cmpstr(out->str, ==,
	    "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",");
	/* and it reads back as written */
	g_string_append_c(out, '\n');
	check(out->str, -1, "1:plain|a,b|say \"hi\"|two\nlines|");
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("test-csv-XXXXXX", NULL);
	g_test_add_func("/csv/good", test_good);
	g_test_add_func("/csv/nul", test_nul);
	g_test_add_func("/csv/utf8", test_utf8);
	g_test_add_func("/csv/quotes", test_quotes);
	g_test_add_func("/csv/bom", test_bom);
	g_test_add_func("/csv/long", test_long);
	g_test_add_func("/csv/read-error", test_read_error);
	g_test_add_func("/csv/append-field", test_append_field);
	rc = g_test_run();
	{
		g_autofree char *path = g_build_filename(tmpdir, "in.csv", NULL);

		g_unlink(path);
	}
	g_rmdir(tmpdir);
	g_free(tmpdir);
	return rc;
}

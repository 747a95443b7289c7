/*
 * mime-check.c - parse each FILE with GMime and print, per file, its
 * structure (content types, nesting) and the decoded subject and To, so a
 * shell test can compare what GMime makes of herald's output. Exits 1 if
 * a file does not parse as a message, has no body, or a part is not
 * charset=utf-8 text that decodes as valid UTF-8.
 *
 *   mime-check FILE…
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <gmime/gmime.h>

static int status;

/* check_part - print one part, check text parts */
static void
check_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	g_autofree char *type = g_mime_content_type_get_mime_type(ct);

	printf("  part %s\n", type);
	if (GMIME_IS_PART(part) && g_mime_content_type_is_type(ct, "text", "*")) {
		GMimeDataWrapper *w = g_mime_part_get_content((GMimePart *)part);
		GMimeStream *mem = g_mime_stream_mem_new();
		GByteArray *ba;
		const char *cs = g_mime_content_type_get_parameter(ct, "charset");

		g_mime_data_wrapper_write_to_stream(w, mem);
		ba = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
		if (cs == NULL || strcmp(cs, "utf-8") != 0 ||
		    !g_utf8_validate((char *)ba->data, ba->len, NULL) ||
		    ba->len == 0) {
			printf("  BAD text part (charset %s)\n", cs ? cs : "none");
			status = 1;
		}
		g_object_unref(mem);
	}
}

int
main(int argc, char **argv)
{
	int i;

	g_mime_init();
	for (i = 1; i < argc; i++) {
		GMimeStream *st = g_mime_stream_fs_open(argv[i], O_RDONLY, 0, NULL);
		GMimeParser *p;
		GMimeMessage *m;
		InternetAddressList *to;

		if (st == NULL) {
			printf("%s: cannot open\n", argv[i]);
			status = 1;
			continue;
		}
		p = g_mime_parser_new_with_stream(st);
		m = g_mime_parser_construct_message(p, NULL);
		printf("%s\n", argv[i]);
		if (m == NULL || g_mime_message_get_mime_part(m) == NULL) {
			printf("  BAD: not a message\n");
			status = 1;
		} else {
			g_autofree char *tostr = NULL;

			to = g_mime_message_get_to(m);
			tostr = internet_address_list_to_string(to, NULL, FALSE);
			printf("  subject %s\n  to %s\n",
			    g_mime_message_get_subject(m), tostr);
			g_mime_message_foreach(m, check_part, NULL);
			g_object_unref(m);
		}
		g_object_unref(p);
		g_object_unref(st);
	}
	return status;
}

/*
 * bench-template.c - how fast template.c renders a realistic announcement:
 * a summit announcement text part of about 3 KB with a few dozen variables,
 * two sections over lists, flags, a standalone footer partial, against a
 * context stack of four maps (list, announcement, subscriber, links) as
 * herald's send workers use it. Prints renders/s and µs per render.
 * Not part of the test suite. Build and run from the top of the repository:
 *
 *   gcc -std=gnu11 -O2 -Isrc/util $(pkg-config --cflags glib-2.0 sqlite3) \
 *       src/util/value.c src/util/template.c tests/bench/bench-template.c \
 *       -o build/bench-template $(pkg-config --libs glib-2.0) -lm
 *   ./build/bench-template [renders]
 */
#include <stdio.h>
#include <stdlib.h>

#include "herald.h"
#include "template.h"
#include "value.h"

#define BENCH_COMMAND \
	"gcc -std=gnu11 -O2 -Isrc/util $(pkg-config --cflags glib-2.0 sqlite3) " \
	"src/util/value.c src/util/template.c tests/bench/bench-template.c " \
	"-o build/bench-template $(pkg-config --libs glib-2.0) -lm && " \
	"./build/bench-template"

static const char bench_text[] =
"Dear {{subscriber.name}},\n"
"\n"
"The {{event.name}} will take place on {{event.date}} at the\n"
"{{venue.name}}, {{venue.street}}, {{venue.city}}, {{venue.country}}.\n"
"{{#segment_developer}}\n"
"As a developer on {{list.title}}, you will want to see the hackathon\n"
"schedule: sessions run from {{hackathon.start}} to {{hackathon.end}}.\n"
"{{/segment_developer}}\n"
"{{^segment_developer}}\n"
"Users, integrators and operators: this is the event to hear how others\n"
"run {{project}} in production, and to meet the people who build it.\n"
"{{/segment_developer}}\n"
"\n"
"Registration\n"
"------------\n"
"Registration costs {{price.currency}}{{price.amount}} until\n"
"{{price.early_until}} and {{price.currency}}{{price.late}} after that.\n"
"{{#discount}}\n"
"Use the discount code {{code}} for {{percent}}% off the standard price;\n"
"it is valid for {{valid_for}} and cannot be combined with other offers.\n"
"{{/discount}}\n"
"Register at {{{event.register_url}}} before {{event.deadline}}.\n"
"\n"
"Topics\n"
"------\n"
"This year's programme committee invites talks and discussions on:\n"
"{{#topics}}\n"
"  * {{.}}\n"
"{{/topics}}\n"
"\n"
"Speakers\n"
"--------\n"
"{{#speakers}}\n"
"  - {{name}} ({{org}}): \"{{title}}\"\n"
"    {{day}}, {{time}} in {{room}}\n"
"{{/speakers}}\n"
"\n"
"The full schedule, with abstracts and speaker biographies, is published\n"
"at {{{event.schedule_url}}} and will be updated as sessions are\n"
"confirmed. Slides and recordings of every talk will be posted there after\n"
"the event, so if you cannot come, you can still catch up later. Travel\n"
"grants are available for community members who would otherwise be unable\n"
"to attend: write to {{event.grants_contact}} by {{event.grants_deadline}}\n"
"with a few lines about your work on {{project}}.\n"
"\n"
"Hotels near the venue offer a reduced rate for attendees when booked\n"
"through the event page before {{hotel.deadline}}; the {{hotel.name}} is a\n"
"five minute walk away and has set aside {{hotel.rooms}} rooms for us. If\n"
"you need help with a visa invitation letter, contact {{event.visa_contact}}\n"
"no later than {{event.visa_deadline}}; letters take up to two weeks.\n"
"\n"
"We are grateful to our sponsors, who make the {{event.short}} possible and\n"
"keep the registration fee low. If your company would like to sponsor,\n"
"see {{{event.sponsor_url}}} or reply to this message.\n"
"\n"
"Everyone is welcome: the {{event.short}} follows the {{project}} code of\n"
"conduct, published at {{{event.conduct_url}}}. The venue is step free,\n"
"and quiet rooms, live captioning and childcare can be arranged: tell us\n"
"what you need when you register, or write to {{event.access_contact}}.\n"
"{{#subscriber.role}}\n"
"You told us you work as a {{subscriber.role}}; the evening session on\n"
"{{hackathon.evening_topic}} may interest you most.\n"
"{{/subscriber.role}}\n"
"\n"
"See you in {{venue.city}}!\n"
"{{event.organiser}}, for the {{project}} community\n"
"\n"
"{{> footer}}\n";

static const char bench_footer[] =
"-- \n"
"You receive this message because {{subscriber.email}} is subscribed to\n"
"{{list.title}} ({{list.address}}).\n"
"Unsubscribe in one step: {{{links.unsubscribe}}}\n"
"Change your preferences: {{{links.preferences}}}\n";

/* herald_error_quark - the error domain; a weak copy, so the benchmark
 * links with or without herald.c */
__attribute__((weak)) GQuark
herald_error_quark(void)
{
	return g_quark_from_static_string("herald-error");
}

/* bench_set - set KEY in MAP to the string S */
static void
bench_set(struct value *map, const char *key, const char *s)
{
	value_map_set(map, key, value_new_string(s));
}

/* bench_map - a map under KEY in PARENT */
static struct value *
bench_map(struct value *parent, const char *key)
{
	struct value *m = value_new_map();

	value_map_set(parent, key, m);
	return m;
}

/* bench_context - the four maps of a send worker's context stack */
static void
bench_context(struct value *stack[4])
{
	static const char *const topics[] = {
		"Security and isolation", "ARM and embedded virtualization",
		"Cloud operations at scale", "Performance and scalability",
		"Storage and networking", "Testing and release engineering",
	};
	struct value *list, *ann, *sub, *links, *m, *l, *s;
	guint i;

	list = value_new_map();
	m = bench_map(list, "list");
	bench_set(m, "title", "Xen Project Announcements");
	bench_set(m, "address", "xen-announce@lists.example.org");

	ann = value_new_map();
	bench_set(ann, "project", "Xen Project");
	m = bench_map(ann, "event");
	bench_set(m, "name", "Xen Project User Summit 2014");
	bench_set(m, "short", "User Summit");
	bench_set(m, "date", "September 15, 2014");
	bench_set(m, "deadline", "September 1, 2014");
	bench_set(m, "register_url", "https://events.example.org/xus14/reg");
	bench_set(m, "schedule_url", "https://events.example.org/xus14/sched");
	bench_set(m, "sponsor_url", "https://events.example.org/xus14/sponsor");
	bench_set(m, "grants_contact", "grants@example.org");
	bench_set(m, "grants_deadline", "August 15, 2014");
	bench_set(m, "visa_contact", "visa@example.org");
	bench_set(m, "visa_deadline", "August 1, 2014");
	bench_set(m, "organiser", "Sarah & the events team");
	bench_set(m, "conduct_url", "https://events.example.org/conduct");
	bench_set(m, "access_contact", "access@example.org");
	m = bench_map(ann, "venue");
	bench_set(m, "name", "Lighthouse Executive Conference Center");
	bench_set(m, "street", "1 Park Avenue");
	bench_set(m, "city", "New York");
	bench_set(m, "country", "USA");
	m = bench_map(ann, "hackathon");
	bench_set(m, "start", "9:00");
	bench_set(m, "end", "17:30");
	bench_set(m, "evening_topic", "maintaining a hypervisor for a decade");
	m = bench_map(ann, "price");
	bench_set(m, "currency", "$");
	value_map_set(m, "amount", value_new_number(85));
	value_map_set(m, "late", value_new_number(99.5));
	bench_set(m, "early_until", "August 22");
	m = bench_map(ann, "discount");
	bench_set(m, "code", "XENUSER14");
	value_map_set(m, "percent", value_new_number(25));
	bench_set(m, "valid_for", "community members");
	m = bench_map(ann, "hotel");
	bench_set(m, "name", "Park Avenue Hotel");
	bench_set(m, "deadline", "August 20");
	value_map_set(m, "rooms", value_new_number(40));
	l = value_new_list();
	for (i = 0; i < G_N_ELEMENTS(topics); i++)
		value_list_append(l, value_new_string(topics[i]));
	value_map_set(ann, "topics", l);
	l = value_new_list();
	for (i = 0; i < 5; i++) {
		s = value_new_map();
		value_map_set(s, "name", value_new_string_take(
		    g_strdup_printf("Speaker Number %u", i)));
		bench_set(s, "org", i % 2 ? "Citrix" : "Amazon <AWS>");
		value_map_set(s, "title", value_new_string_take(
		    g_strdup_printf("Running Xen at scale, part %u", i)));
		bench_set(s, "day", "Monday");
		bench_set(s, "time", "10:30");
		bench_set(s, "room", "Hall B");
		value_list_append(l, s);
	}
	value_map_set(ann, "speakers", l);

	sub = value_new_map();
	m = bench_map(sub, "subscriber");
	bench_set(m, "name", "Alice O'Brien");
	bench_set(m, "email", "alice@subs.example");
	bench_set(m, "role", "developer");
	value_map_set(sub, "segment", value_new_string("developer"));
	value_map_set(sub, "segment_developer", value_new_bool(TRUE));

	links = value_new_map();
	m = bench_map(links, "links");
	bench_set(m, "unsubscribe", "https://lists.example.org/u/"
	    "xen-announce/k3j4h5g6f7d8s9a0");
	bench_set(m, "preferences", "https://lists.example.org/p/"
	    "xen-announce/k3j4h5g6f7d8s9a0");

	stack[0] = list;
	stack[1] = ann;
	stack[2] = sub;
	stack[3] = links;
}

int
main(int argc, char **argv)
{
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GString) out = g_string_sized_new(8192);
	g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	struct value *stack[4];
	long n = argc > 1 ? atol(argv[1]) : 200000, i;
	gint64 t0, t1;
	double secs;

	bench_context(stack);
	if (!template_set_add(set, "text", bench_text, "text.mustache",
	    &error) ||
	    !template_set_add(set, "footer", bench_footer, "footer.mustache",
	    &error) ||
	    !template_set_check(set, FALSE, &error) ||
	    !template_render(set, "text", stack, 4, TEMPLATE_ESCAPE_NONE, out,
	    missing, &error)) {
		fprintf(stderr, "bench-template: %s\n", error->message);
		return 1;
	}
	if (missing->len > 0) {
		fprintf(stderr, "bench-template: missing '%s'\n",
		    (char *)g_ptr_array_index(missing, 0));
		return 1;
	}
	printf("template %zu bytes, output %zu bytes\n", sizeof(bench_text) +
	    sizeof(bench_footer) - 2, out->len);
	t0 = g_get_monotonic_time();
	for (i = 0; i < n; i++) {
		g_string_truncate(out, 0);
		template_render(set, "text", stack, 4, TEMPLATE_ESCAPE_NONE,
		    out, NULL, NULL);
	}
	t1 = g_get_monotonic_time();
	secs = (t1 - t0) / 1e6;
	printf("%ld renders in %.3f s: %.0f renders/s, %.2f us/render "
	    "(text mode)\n", n, secs, n / secs, secs * 1e6 / n);
	t0 = g_get_monotonic_time();
	for (i = 0; i < n; i++) {
		g_string_truncate(out, 0);
		template_render(set, "text", stack, 4, TEMPLATE_ESCAPE_HTML,
		    out, NULL, NULL);
	}
	t1 = g_get_monotonic_time();
	secs = (t1 - t0) / 1e6;
	printf("%ld renders in %.3f s: %.0f renders/s, %.2f us/render "
	    "(HTML escaping)\n", n, secs, n / secs, secs * 1e6 / n);
	printf("command: %s\n", BENCH_COMMAND);
	for (i = 0; i < 4; i++)
		value_unref(stack[i]);
	return 0;
}

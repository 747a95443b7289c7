/*
 * gen-subscribers.c - write N made-up subscribers as CSV on stdout, the
 * same N rows every time (a fixed-seed xorshift generator), for the sample
 * files in lists/ and the benchmark.
 *
 *   gen-subscribers [--list xen-users|xen-devel] [--seed S] N
 *
 * xen-users rows: email,name,role,region,company (company on about a third).
 * xen-devel rows: email,name,area,arch,role (role on about a fifth).
 * Addresses are under example.com, example.org and example.net (RFC 2606):
 * never real people. Some names carry a comma, a quote or non-ASCII
 * letters, so the CSV quoting and UTF-8 paths are exercised.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t gen_state = 0x9e3779b97f4a7c15ULL;

/* gen_next - xorshift64* */
static uint64_t
gen_next(void)
{
	gen_state ^= gen_state >> 12;
	gen_state ^= gen_state << 25;
	gen_state ^= gen_state >> 27;
	return gen_state * 0x2545f4914f6cdd1dULL;
}

/* gen_pick - one of N strings */
static const char *
gen_pick(const char *const *v, size_t n)
{
	return v[gen_next() % n];
}

#define PICK(v) gen_pick(v, sizeof(v) / sizeof(v[0]))

static const char *const first[] = {
	"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
	"Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil",
	"Trent", "Victor", "Walter", "Zoë", "José", "Jürgen", "Mei", "Hiroshi",
	"Ana", "Lars", "Priya", "Chidi", "Fatima", "Søren",
};
static const char *const first_ascii[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
	"trent", "victor", "walter", "zoe", "jose", "juergen", "mei", "hiroshi",
	"ana", "lars", "priya", "chidi", "fatima", "soren",
};
static const char *const last[] = {
	"Smith", "Jones", "Garcia", "Müller", "Chen", "Tanaka", "Okafor",
	"Rossi", "Novak", "Kowalski", "Silva", "Dubois", "Nguyen", "Patel",
	"O'Brien", "Andersen", "Ivanova", "Kim", "Haddad", "Larsen",
};
static const char *const last_ascii[] = {
	"smith", "jones", "garcia", "mueller", "chen", "tanaka", "okafor",
	"rossi", "novak", "kowalski", "silva", "dubois", "nguyen", "patel",
	"obrien", "andersen", "ivanova", "kim", "haddad", "larsen",
};
static const char *const domains[] = {
	"example.com", "example.org", "example.net",
};
static const char *const roles[] = {
	"user", "user", "user", "developer", "developer", "maintainer",
	"integrator", "architect", "manager",
};
static const char *const regions[] = {
	"us-east", "us-central", "us-south", "us-west", "europe", "europe",
	"asia",
};
static const char *const companies[] = {
	"Example Cloud", "Acme Hosting", "Initech", "Globex", "Umbrella Labs",
	"Hooli", "Example Systems, Inc.", "Vandelay Industries",
};
static const char *const areas[] = {
	"hypervisor", "hypervisor", "toolstack", "xapi", "libxl", "docs",
};
static const char *const arches[] = { "x86", "x86", "arm" };
static const char *const devroles[] = { "maintainer", "reviewer", "committer" };

/* gen_field - a CSV field, quoted when it must be */
static void
gen_field(const char *s)
{
	const char *p;

	if (strpbrk(s, ",\"") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}

int
main(int argc, char **argv)
{
	const char *list = "xen-users";
	unsigned long long n = 0, i;
	char name[128];
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--list") == 0 && a + 1 < argc)
			list = argv[++a];
		else if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc)
			gen_state ^= strtoull(argv[++a], NULL, 10) * 0x9e3779b97f4a7c15ULL;
		else
			n = strtoull(argv[a], NULL, 10);
	}
	if (n == 0 || (strcmp(list, "xen-users") != 0 &&
	    strcmp(list, "xen-devel") != 0)) {
		fprintf(stderr, "usage: gen-subscribers [--list xen-users|xen-devel]"
		    " [--seed S] N\n");
		return 64;
	}
	if (strcmp(list, "xen-users") == 0)
		puts("email,name,role,region,company");
	else
		puts("email,name,area,arch,role");
	for (i = 1; i <= n; i++) {
		size_t f = gen_next() % (sizeof(first) / sizeof(first[0]));
		size_t l = gen_next() % (sizeof(last) / sizeof(last[0]));
		uint64_t r = gen_next();

		printf("%s.%s%llu@%s,", first_ascii[f], last_ascii[l], i,
		    PICK(domains));
		if (r % 50 == 0)
			snprintf(name, sizeof(name), "%s, %s", last[l], first[f]);
		else if (r % 50 == 1)
			snprintf(name, sizeof(name), "%s \"%s\" %s", first[f],
			    first_ascii[(f + 1) % 30], last[l]);
		else if (r % 50 == 2)
			name[0] = '\0';		/* no name */
		else
			snprintf(name, sizeof(name), "%s %s", first[f], last[l]);
		gen_field(name);
		putchar(',');
		if (strcmp(list, "xen-users") == 0) {
			printf("%s,%s,", PICK(roles), PICK(regions));
			if (gen_next() % 3 == 0)
				gen_field(PICK(companies));
		} else {
			printf("%s,%s,", PICK(areas), PICK(arches));
			if (gen_next() % 5 == 0)
				fputs(PICK(devroles), stdout);
		}
		putchar('\n');
	}
	return fflush(stdout) == 0 ? 0 : 74;
}

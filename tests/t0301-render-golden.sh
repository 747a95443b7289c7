#!/bin/sh
# herald render: every shipped announcement for a fixed subscriber in each
# segment, compared to checked-in messages (Date, Message-ID, boundaries
# and DTSTAMP normalised), and re-parsed by GMime and by Python's email
# package without defects. UPDATE=1 rewrites the golden files.
. "${TOP:-.}/tests/lib.sh"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
G=$TOP/tests/t0301
plan 15

write_conf
# a fixed secret, so the tokens in the golden files stay the same
printf 'herald-t0301-fixed-secret-32byte' > "$T/data/secret"
chmod 600 "$T/data/secret"
herald init >/dev/null || { echo "Bail out! init"; exit 1; }
cat > "$T/subs.csv" <<'CSV'
email,name,role,region
ada@example.com,Ada Lovelace,user,us-east
dev@example.com,Dev Eloper,developer,us-central
jurgen@example.de,Jürgen Groß,integrator,europe
plain@example.net,,,
CSV
herald sub import xen-users "$T/subs.csv" >/dev/null ||
	{ echo "Bail out! sub import"; exit 1; }

# normalise FILE - the parts that change from run to run
normalise() {
	sed -E -e 's/^Date: .*\r$/Date: DATE\r/' \
	    -e 's/^Message-ID: <herald\.0\.[0-9a-f]{8}\.[a-z2-7]{16}@/Message-ID: <herald.0.RANDOM@/' \
	    -e 's/=_herald_(alt|mix)_[0-9a-f]{24}/=_herald_\1_BOUNDARY/g' \
	    -e 's/^DTSTAMP:[0-9TZ]+\r$/DTSTAMP:STAMP\r/' "$1"
}

mkdir -p "$T/out"
for kind in summit talks sponsorship; do
	for who in ada dev jurgen plain; do
		case $who in
		ada) to=ada@example.com ;; dev) to=dev@example.com ;;
		jurgen) to=jurgen@example.de ;; plain) to=plain@example.net ;;
		esac
		herald render $kind --list xen-users --to $to > "$T/out/$kind-$who.eml" ||
			echo "# render $kind $to failed"
		normalise "$T/out/$kind-$who.eml" > "$T/out/$kind-$who.norm"
		if [ -n "${UPDATE:-}" ]; then
			cp "$T/out/$kind-$who.norm" "$G/$kind-$who.eml"
		fi
	done
	diffs=""
	for who in ada dev jurgen plain; do
		cmp -s "$T/out/$kind-$who.norm" "$G/$kind-$who.eml" ||
			diffs="$diffs $who"
	done
	[ -z "$diffs" ]; ok $? "$kind: the four messages match the golden files"
	[ -z "$diffs" ] || for who in $diffs; do
		diff "$G/$kind-$who.eml" "$T/out/$kind-$who.norm" | head -10 | sed 's/^/# /'
	done
done

out=$("$BUILD/tools/mime-check" "$T"/out/*.eml 2>&1); rc=$?
[ $rc -eq 0 ]; ok $? "GMime parses all twelve, every text part utf-8"
unlike "$out" BAD; ok $? "GMime finds no bad part"
out=$($PY "$G/check.py" "$T"/out/*.eml 2>&1); rc=$?
[ $rc -eq 0 ]; ok $? "Python's email package (default and strict) finds no defect"
[ "$(printf '%s\n' "$out" | grep -c '^ok ')" = 12 ]; ok $? "twelve messages checked"

# what each segment is told first
first_event() { tr -d '\r' < "$1" | grep -m1 -E '^Xen Project (User|Developer) Summit$'; }
[ "$(first_event "$T/out/summit-ada.eml")" = "Xen Project User Summit" ]
ok $? "a user hears about the User Summit first"
[ "$(first_event "$T/out/summit-dev.eml")" = "Xen Project Developer Summit" ]
ok $? "a developer hears about the Developer Summit first"
like "$(printf '%s\n' "$out" | grep summit-ada)" '\| Xen Project User Summit: New York, NY, Sep 15 - 50% off$'
ok $? "the user's subject names the User Summit and its discount"
like "$(tr -d '\r' < "$T/out/summit-ada.eml")" 'XenUser50off takes 50% off'
ok $? "the discount code is in the text"
like "$(tr -d '\r' < "$T/out/summit-ada.eml")" 'Lighthouse Executive Conference Center, New York'
ok $? "venue and city"
# a campaign by region: the us-central reader gets Austin first
herald render talks --list xen-users --segments us-south,us-central,us-east \
	--to dev@example.com > "$T/out/talks-region.txt"
ev=$(tr -d '\r' < "$T/out/talks-region.txt" | grep -E '^[A-Z].* - .*, 2014')
[ "$(printf '%s\n' "$ev" | grep -c 'near you)$')" = 2 ] &&
like "$(printf '%s\n' "$ev" | sed -n 3p)" '^SouthEast LinuxFest - Charlotte.*2014$'
ok $? "talks by region: the two events near a us-central reader come first, marked"
like "$(grep -a '^To:' "$T/out/summit-jurgen.eml")" '^To: =\?UTF-8\?b\?[A-Za-z0-9+/=]+\?= <jurgen@example.de>'
ok $? "a non-ASCII name is RFC 2047 encoded in To"
like "$(grep -a -c 'quoted-printable' "$T/out/summit-jurgen.eml")" '^2$'
ok $? "and the parts that carry it are quoted-printable"
finish

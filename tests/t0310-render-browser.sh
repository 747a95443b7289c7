#!/bin/sh
# What a subscriber's screen shows of every shipped kind: its HTML part
# rendered for a developer, opened in Debian's chromium (headless, driven
# by python3-selenium, tests/t0310/mail.py) at 375 and 800 px, with the
# reader's system in light and in dark mode. No sideways scroll; every
# text at WCAG AA contrast on what is behind it in both modes; dark mode
# recolours the card; the unsubscribe address breaks only after "+" or
# before "@"; each kind's own geometry (the Register button and the
# schedule link, the talks' title column, the sponsorship benefits).
# The buttons are bulletproof: the table cell carries the colour and the
# padding, which Outlook for Windows honours (it drops a link's padding).
# Screenshots: $BUILD/screenshots/mail-KIND-WIDTH-SCHEME.png.
. "${TOP:-.}/tests/lib.sh"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
KINDS="summit talks sponsorship"
# per kind: 2 widths x (2 schemes x 2 + address + layout + dark) = 14,
# and 3 points on the HTML itself
plan $((3 * 14 + 3 * 3))
SHOTS=$BUILD/screenshots

write_conf
herald init >/dev/null || { echo "Bail out! init"; exit 1; }
cat > "$T/subs.csv" <<'CSV'
email,name,role,region
dev@example.com,Dev Eloper,developer,us-central
CSV
herald sub import xen-users "$T/subs.csv" >/dev/null ||
	{ echo "Bail out! sub import"; exit 1; }

# html EML OUT - the text/html part of EML, decoded
html() {
	$PY - "$1" "$2" <<'PY'
import sys
from email import message_from_bytes, policy
m = message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
open(sys.argv[2], 'w').write(m.get_body(preferencelist=('html',)).get_content())
PY
}

for kind in $KINDS; do
	herald render $kind --list xen-users --to dev@example.com > "$T/$kind.eml" &&
	html "$T/$kind.eml" "$T/$kind.html" || echo "# render $kind failed"
	h=$(cat "$T/$kind.html" 2>/dev/null)
	like "$h" '<meta name="color-scheme" content="light dark">' &&
	like "$h" '<meta name="supported-color-schemes" content="light dark">' &&
	like "$h" '@media \(prefers-color-scheme: ?dark\)'
	ok $? "$kind: the color-scheme metas and dark-mode rules"
	# every link styled as a button sits alone in a cell that carries its
	# colour (bgcolor and background-color) and its padding; the link
	# itself has no padding to lose
	$PY - "$T/$kind.html" <<'PY'
import sys, re
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.stack = []; s.buttons = 0; s.bad = []
    def handle_starttag(s, tag, a):
        a = dict(a); s.stack.append((tag, a))
        cls = (a.get('class') or '').split()
        if tag == 'a' and 'button' in cls:
            s.buttons += 1
            td = next((x for x in reversed(s.stack[:-1]) if x[0] == 'td'), None)
            tbl = next((x for x in reversed(s.stack[:-1]) if x[0] == 'table'), None)
            st = (a.get('style') or '').replace(' ', '')
            if td is None or tbl is None or tbl[1].get('role') != 'presentation':
                s.bad.append('a button outside a presentation table cell')
                return
            tds = (td[1].get('style') or '').replace(' ', '')
            if not td[1].get('bgcolor') or 'background-color:' + td[1]['bgcolor'].lower() not in tds.lower():
                s.bad.append('the cell lacks bgcolor and the same background-color: %s' % td[1])
            if not re.search(r'padding:[1-9]', tds):
                s.bad.append('the cell has no padding')
            if re.search(r'padding:[1-9]', st):
                s.bad.append('the link carries padding')
    def handle_endtag(s, tag):
        while s.stack and s.stack.pop()[0] != tag: pass
p = P(); p.feed(open(sys.argv[1]).read())
if p.bad: print('# ' + '; '.join(p.bad)); sys.exit(1)
if p.buttons == 0 and 'summit' in sys.argv[1]: print('# no button'); sys.exit(1)
PY
	ok $? "$kind: buttons are bulletproof (the cell carries colour and padding)"
	unlike "$h" 'one click' && like "$h" '>Unsubscribe<'
	ok $? "$kind: the body says Unsubscribe (the one click is the mail client's)"
done

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! $PY -c 'import selenium' 2>/dev/null; then
	for i in $(seq 42); do skip "no chromium, chromedriver or python3-selenium"; done
	finish
fi
mkdir -p "$SHOTS"
rm -f "$SHOTS"/mail-*.png
for kind in $KINDS; do
	res=$($PY "$TOP/tests/t0310/mail.py" "$SHOTS" $kind "$T/$kind.html" 2>&1)
	for w in 375 800; do
		for label in "$w light fits" "$w light contrast" "$w dark fits" \
		    "$w dark contrast" "$w dark recolours" "$w address" "$w layout"; do
			line=$(printf '%s\n' "$res" | grep -F "$kind $label" | head -1)
			[ "$line" = "pass $kind $label" ]
			ok $? "$kind $label"
			[ "$line" = "pass $kind $label" ] || echo "# ${line:-no such check; $(printf '%s' "$res" | tail -3)}"
		done
	done
done
finish

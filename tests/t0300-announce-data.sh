#!/bin/sh
# Announcement data files: every mistake is named by FILE:LINE (templates
# by FILE:LINE:COL), exits 65, and stops render before any message: also
# an option set twice, a NUL byte, an audience naming a segment the list
# lacks; and ${VAR} in the data is the text itself, never the environment.
. "${TOP:-.}/tests/lib.sh"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
plan 35

hinit
herald sub add xen-users ada@example.com --name Ada --attr role=user >/dev/null

# data NAME - write $T/NAME.conf from stdin
data() { cat > "$T/$1.conf"; }
render() { expect "$1" herald render "$T/$2.conf" --list xen-users --to ada@example.com; }

data ok <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
	start = "2014-09-15 09:00"
	timezone = "America/New_York"
	city = "New York"
}
X
render 0 ok && like "$out" '^Subject: T[[:space:]]*$'; ok $? "a minimal summit renders"

data noname <<'X'
kind = "summit"
title = "T"
event e {
	start = "2014-09-15"
	timezone = "America/New_York"
	city = "New York"
}
X
render 65 noname; ok $? "an event without its name: exit 65"
like "$err" "noname.conf:7: event \"e\" has no name \(required\)"; ok $? "named by FILE:LINE"
[ -z "$out" ]; ok $? "and nothing rendered"

data notitle <<'X'
# a comment first

kind = "talks"
X
render 65 notitle && like "$err" 'notitle.conf:3: the file has no title'; ok $? "a missing top-level field points at the kind line"

data baddate <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
	start = "2014-09-31 09:00"
	timezone = "America/New_York"
	city = "New York"
}
X
render 65 baddate && like "$err" 'baddate.conf:5: start: bad date "2014-09-31 09:00"'; ok $? "a day that does not exist"

data badtime <<'X'
kind = "talks"
title = "T"
event e {
	name = "E"
	start = "2014-06-04"
	timezone = "America/New_York"
	city = "Cincinnati"
	talk {
		date = "2014-06-04"
		time = "25:30"
		speaker = "R"
		title = "X"
	}
}
X
render 65 badtime && like "$err" 'badtime.conf:10: time: bad time "25:30"'; ok $? "a bad time"

data badurl <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
	start = "2014-09-15"
	timezone = "America/New_York"
	city = "New York"
	register = "javascript:alert(1)"
}
X
render 65 badurl && like "$err" 'badurl.conf:8: register: bad URL "javascript:alert\(1\)"'; ok $? "a URL that is not http(s)"

data nohost <<'X'
kind = "summit"
title = "T"
website = "https:///path"
X
render 65 nohost && like "$err" 'nohost.conf:3: website: bad URL'; ok $? "a URL without a host"

data badtz <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
	start = "2014-09-15"
	timezone = "Mars/Olympus_Mons"
	city = "New York"
}
X
render 65 badtz && like "$err" 'badtz.conf:6: timezone: unknown time zone'; ok $? "an unknown time zone"

data order <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
	start = "2014-08-19"
	end = "2014-08-18"
	timezone = "America/Chicago"
	city = "Chicago"
}
X
render 65 order && like "$err" 'order.conf:9: event "e" ends \(2014-08-18\) before it starts'; ok $? "an end before the start"

data newline <<'X'
kind = "summit"
title = "Line one
Bcc: x@y"
X
render 65 newline && like "$err" 'newline.conf:3: title: a line break is not allowed here'; ok $? "a line break in a one-line field"

data unknownkind <<'X'

kind = "webinar"
title = "T"
X
render 65 unknownkind && like "$err" 'unknownkind.conf:2: unknown kind "webinar"'; ok $? "an unknown kind"

data nokind <<'X'
title = "T"
X
render 65 nokind && like "$err" 'nokind.conf:1: no kind'; ok $? "no kind at all"

data unknownopt <<'X'
kind = "summit"
title = "T"
venue = "top level"
X
render 65 unknownopt && like "$err" "unknownopt.conf:3: no such option 'venue'"; ok $? "an option the kind does not have"

data unclosed <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
X
render 65 unclosed && like "$err" 'unclosed.conf:3: section opened here is never closed'; ok $? "a section never closed"

data bademail <<'X'
kind = "sponsorship"
title = "T"
deadline = "2014-08-01"
contact {
	name = "R"
	email = "not an address"
}
tier t {
	name = "S"
	price = 1000
	benefit = { "b" }
}
X
render 65 bademail && like "$err" 'bademail.conf:6: email: bad email address'; ok $? "a bad contact address"

render 66 missing && like "$err" 'missing.conf'; ok $? "a missing data file: 66"

# a template error: file, line and column; nothing is printed
data tmplerr <<'X'
kind = "summit"
title = "T"
templates = "tmpl"
X
cp -R "$TOP/tests/t0300/tmpl" "$T/tmpl"
render 65 tmplerr; ok $? "a broken template: exit 65"
like "$err" 'tmpl/summit/text.mustache:[0-9]+:[0-9]+: '; ok $? "named by FILE:LINE:COL"
[ -z "$out" ]; ok $? "and no message was printed"

# an option set twice: libconfuse keeps the last one
data twice <<'X'
kind = "summit"
title = "First"
intro = "Hello"
title = "Second"
X
render 65 twice && like "$err" 'twice.conf:4: title is set twice in one section \(first at line 2\)'
ok $? "an option set twice: 65 at the second, naming the first"
data twiceinner <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
	start = "2014-09-15"
	timezone = "America/New_York"
	city = "New York"
	city = "Chicago"
}
event f {
	name = "F"
	start = "2014-09-16"
	timezone = "America/New_York"
	city = "New York"
}
X
render 65 twiceinner && like "$err" 'twiceinner.conf:8: city is set twice in one section \(first at line 7\)'
ok $? "in a section too (the same name in two sections is fine)"
printf 'kind = "summit"\ntitle = "T"\0\nintro = "never read"\n' > "$T/nul.conf"
render 65 nul && like "$err" 'nul.conf:2: a NUL byte'; ok $? "a NUL byte: 65 at its line"

# an audience must name segments of the list it is sent to
data aud <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
	start = "2014-09-15 09:00"
	timezone = "America/New_York"
	city = "New York"
	topic {
		title = "For users"
		text = "x"
		audience = { "users",
		    "nobody-here" }
	}
}
X
render 65 aud && like "$err" 'aud.conf:12: audience names segment "nobody-here", which list xen-users does not have'
ok $? "an audience naming an unknown segment: 65 at its line"
expect 65 herald preview "$T/aud.conf" --list xen-users && like "$err" 'aud.conf:12: audience names segment "nobody-here"'; ok $? "preview refuses it too"
expect 65 herald send "$T/aud.conf" --list xen-users --segment users --dry-run "$T/aud-md" &&
    like "$err" 'aud.conf:12: audience names segment "nobody-here"' && [ ! -e "$T/aud-md" ] &&
    [ "$(sql 'SELECT count(*) FROM campaigns')" = 0 ]
ok $? "send refuses it too, before writing or recording anything"
sed -i 's/"nobody-here"/"developers"/' "$T/aud.conf"
render 0 aud && like "$out" '^Subject: T[[:space:]]*$'; ok $? "with segments the list has, it renders"
expect 65 herald render "$T/aud.conf" --list xen-devel --to ada@example.com &&
    like "$err" 'aud.conf:12: audience names segment "users", which list xen-devel does not have'
ok $? "for a list without them, it does not"

# ${VAR}: the text as written, never the environment
HERALD_T_SECRET=leaked-value; export HERALD_T_SECRET
data env <<'X'
kind = "summit"
title = "US${HERALD_T_SECRET} and ${HOME}"
intro = "Price: US${HERALD_T_SECRET:-5}, \${HOME}"
event e {
	name = "E"
	start = "2014-09-15 09:00"
	timezone = "America/New_York"
	city = "New York"
	price = 100
	currency = "US${HERALD_T_SECRET}"
}
X
render 0 env && like "$out" '^Subject: '; ok $? "a data file with \${…} renders"
! printf '%s' "$out" | grep -q "leaked-value\|$HOME" &&
    like "$out" 'Price: US\$\{HERALD_T_SECRET:-5\}, \$\{HOME\}' &&
    like "$out" 'US\$\{HERALD_T_SECRET\}'
ok $? "nothing from the environment reaches the message"
like "$out" '^Subject: .*US\$\{HERALD_T_SECRET\}'; ok $? "the subject has the literal text"
printf 'kind = "summit"\ntitle = ${HERALD_T_SECRET}\n' > "$T/bare.conf"
render 65 bare && like "$err" 'bare.conf:2: \$\{…\} outside quotes'; ok $? "a bare \${…}: 65 at its line"
# the list file's strings are not expanded either
sed -i 's/^display_name = .*/display_name = "Xen ${HERALD_T_SECRET}"/' "$T/lists/xen-users.conf"
render 0 ok && like "$out" '^List-Id: Xen \$\{HERALD_T_SECRET\}' && ! printf '%s' "$out" | grep -q leaked-value
ok $? "a list file's \${…} reaches the List-Id as written"
cp "$TOP/lists/xen-users.conf" "$T/lists/xen-users.conf"

# every shipped example loads and renders a message
failed=
for k in summit talks sponsorship; do
	expect 0 herald render $k --list xen-users --to ada@example.com &&
	    like "$out" '^Subject: ' && [ -z "$err" ] || { echo "#   $k failed"; failed="$failed $k"; }
done
[ -z "$failed" ]; ok $? "the shipped examples load"
finish

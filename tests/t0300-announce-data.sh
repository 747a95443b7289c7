#!/bin/sh
# Announcement data files: every mistake is named by FILE:LINE (templates
# by FILE:LINE:COL), exits 65, and stops render before any message.
. "${TOP:-.}/tests/lib.sh"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
plan 22

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
render 0 ok; ok $? "a minimal summit renders"

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
render 65 notitle; like "$err" 'notitle.conf:3: the file has no title'; ok $? "a missing top-level field points at the kind line"

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
render 65 baddate; like "$err" 'baddate.conf:5: start: bad date "2014-09-31 09:00"'; ok $? "a day that does not exist"

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
render 65 badtime; like "$err" 'badtime.conf:10: time: bad time "25:30"'; ok $? "a bad time"

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
render 65 badurl; like "$err" 'badurl.conf:8: register: bad URL "javascript:alert\(1\)"'; ok $? "a URL that is not http(s)"

data nohost <<'X'
kind = "summit"
title = "T"
website = "https:///path"
X
render 65 nohost; like "$err" 'nohost.conf:3: website: bad URL'; ok $? "a URL without a host"

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
render 65 badtz; like "$err" 'badtz.conf:6: timezone: unknown time zone'; ok $? "an unknown time zone"

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
render 65 order; like "$err" 'order.conf:9: event "e" ends \(2014-08-18\) before it starts'; ok $? "an end before the start"

data newline <<'X'
kind = "summit"
title = "Line one
Bcc: x@y"
X
render 65 newline; like "$err" 'newline.conf:3: title: a line break is not allowed here'; ok $? "a line break in a one-line field"

data unknownkind <<'X'

kind = "webinar"
title = "T"
X
render 65 unknownkind; like "$err" 'unknownkind.conf:2: unknown kind "webinar"'; ok $? "an unknown kind"

data nokind <<'X'
title = "T"
X
render 65 nokind; like "$err" 'nokind.conf:1: no kind'; ok $? "no kind at all"

data unknownopt <<'X'
kind = "summit"
title = "T"
venue = "top level"
X
render 65 unknownopt; like "$err" "unknownopt.conf:3: no such option 'venue'"; ok $? "an option the kind does not have"

data unclosed <<'X'
kind = "summit"
title = "T"
event e {
	name = "E"
X
render 65 unclosed; like "$err" 'unclosed.conf:3: section opened here is never closed'; ok $? "a section never closed"

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
render 65 bademail; like "$err" 'bademail.conf:6: email: bad email address'; ok $? "a bad contact address"

render 66 missing; like "$err" 'missing.conf'; ok $? "a missing data file: 66"

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

# every shipped example loads
for k in summit talks sponsorship; do
	herald render $k --list xen-users --to ada@example.com >/dev/null || echo "# $k failed"
done
[ $? -eq 0 ] && herald render summit --list xen-users --to ada@example.com >/dev/null
ok $? "the shipped examples load"
finish

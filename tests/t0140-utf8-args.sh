#!/bin/sh
# Command-line text is UTF-8 whatever the locale: a non-ASCII name works
# under LANG=C (GOption alone would refuse it), invalid UTF-8 is refused.
. "${TOP:-.}/tests/lib.sh"
plan 3
hinit
LANG=C LC_ALL=C expect 0 herald sub add xen-users j@example.com --name "Jürgen Groß" --attr role=user
ok $? "sub add --name with umlauts under LANG=C"
[ "$(sql "SELECT name FROM subscribers WHERE email = 'j@example.com'")" = "Jürgen Groß" ]
ok $? "the name is stored as given"
t "a name that is not UTF-8 is refused" 65 herald sub add xen-users k@example.com --name "$(printf 'bad\377')"
finish

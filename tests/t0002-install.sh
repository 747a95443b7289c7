#!/bin/sh
# make install honours PREFIX and DESTDIR, installs only under them, and the
# installed binary runs: it is the binary under test (with SANITIZE=1 the
# sanitizer build, not a ./herald left by an earlier make).
. "${TOP:-.}/tests/lib.sh"
plan 5

make_install "$T/root"
ok $? "make install PREFIX=/opt/herald DESTDIR=…"
[ -x "$T/root/opt/herald/bin/herald" ] && [ -f "$T/root/opt/herald/etc/herald/herald.conf.example" ] &&
    [ -d "$T/root/opt/herald/share/herald/templates" ]
ok $? "binary, example configuration and templates are in place"
[ -z "$(find "$T/root" -mindepth 1 -maxdepth 1 ! -name opt)" ]
ok $? "nothing is installed outside PREFIX"
expect 0 "$T/root/opt/herald/bin/herald" --version && like "$out" '^herald [0-9]'
ok $? "the installed binary runs"
cmp -s "$HERALD" "$T/root/opt/herald/bin/herald"
ok $? "it is the binary under test ($HERALD; for build-asan: make SANITIZE=1 test)"
finish

#!/bin/sh
# herald init, herald lists, help and usage errors, the schema version check.
. "${TOP:-.}/tests/lib.sh"
plan 14

write_conf
t "init creates the database and secret" 0 herald init
like "$out" "database: $T/data/herald.db" && like "$out" 'secret:.*created'; ok $? "init says where they are"
[ "$(stat -c %a "$T/data/secret")" = 600 ]; ok $? "the secret is mode 0600"
[ "$(stat -c %s "$T/data/secret")" = 32 ]; ok $? "the secret is 32 bytes"
cp "$T/data/secret" "$T/secret.before"
t "init again changes nothing" 0 herald init
like "$out" 'already current' && cmp -s "$T/data/secret" "$T/secret.before"; ok $? "schema current, secret kept"
[ "$(sql 'PRAGMA journal_mode')" = wal ]; ok $? "the database is in WAL mode"

t "lists shows the shipped lists" 0 herald lists
like "$out" '^xen-users +xen-users@lists.xenproject.org +0' && like "$out" '^xen-devel '; ok $? "both lists, zero members"

t "unknown command exits 64" 64 herald frobnicate
like "$err" 'try "herald help"'; ok $? "with a one-line hint"
t "bad option exits 64" 64 herald lists --bogus
t "help lists the commands" 0 herald help

sql 'PRAGMA user_version = 999'
t "a newer schema than the binary knows is refused" 70 herald lists
finish

#!/bin/sh
# t0901-mta-postfix.sh - herald mta postfix --postfix-dir DIR: the map
# path and every postconf/postmap/postfix line use DIR (-c DIR), the
# output says which user must own the data folder, and the printed
# commands, run for real against a Postfix configuration folder of the
# test's own, install the transport map and the pipe service there (not
# in /etc/postfix). Without --postfix-dir: no -c, the map in /etc/postfix.
. "${TOP:-.}/tests/lib.sh"
command -v postconf >/dev/null 2>&1 || { echo "1..0 # SKIP no Postfix (postconf)"; exit 0; }
plan 14
hinit
PF=$T/pf.conf-dir
mkdir -p "$PF"
cp /etc/postfix/master.cf "$PF/master.cf"
printf 'compatibility_level = 3.6\n' >"$PF/main.cf"

t "mta postfix --postfix-dir" 0 herald mta postfix --postfix-dir "$PF" --user nobody
printf '%s\n' "$out" >"$T/mta.out"
like "$out" "^# --- $PF/herald_transport \(then: postmap $PF/herald_transport\) ---\$" &&
    like "$out" "^transport_maps = hash:$PF/herald_transport\$"
ok $? "the map is in DIR"
[ "$(grep -c "^post[a-z]* -c '$PF' " "$T/mta.out")" = 4 ]
ok $? "postconf -e, postconf -M, postmap and postfix reload all carry -c DIR"
like "$out" "herald pipe runs as nobody: herald's data folder $T/data" &&
    like "$out" "must belong to that user"
ok $? "says the data folder must belong to the pipe's user"

# install: the map section into DIR/herald_transport, then the commands
sed -n "\\|^# --- $PF/herald_transport|,/^\$/p" "$T/mta.out" |
    grep -v '^#' | grep . >"$PF/herald_transport"
[ "$(wc -l <"$PF/herald_transport")" = 14 ]
ok $? "the map section has the 14 list addresses"
sed -n '/^# --- as root/,$p' "$T/mta.out" | grep -v '^#' |
    grep -v ' reload$' >"$T/install.sh"
[ -s "$T/install.sh" ] && sh -e "$T/install.sh" >"$T/install.out" 2>&1
ok $? "the printed postconf and postmap lines run"
[ "$(postconf -c "$PF" -h transport_maps)" = "hash:$PF/herald_transport" ] &&
    [ "$(postconf -c "$PF" -h relay_recipient_maps)" = "hash:$PF/herald_transport" ] &&
    [ "$(postconf -c "$PF" -h herald_destination_recipient_limit)" = 1 ] &&
    [ "$(postconf -c "$PF" -h recipient_delimiter)" = + ]
ok $? "main.cf in DIR has the settings"
postconf -c "$PF" -M herald/unix | grep -q 'pipe flags=DRXq user=nobody null_sender= argv=.* pipe -f \${sender} -- \${recipient}$'
ok $? "master.cf in DIR has the herald pipe service"
[ "$(postmap -c "$PF" -q xen-users-bounces@lists.xenproject.org "hash:$PF/herald_transport")" = herald: ]
ok $? "postmap built DIR/herald_transport.db: the bounce address maps to herald:"
[ ! -e /etc/postfix/herald_transport.db ]
ok $? "nothing written in /etc/postfix"

t "mta postfix without --postfix-dir" 0 herald mta postfix
unlike "$out" '^post[a-z]* -c ' && like "$out" "^postmap '/etc/postfix/herald_transport'$" &&
    like "$out" '^transport_maps = hash:/etc/postfix/herald_transport$'
ok $? "no -c, the map in /etc/postfix"
t "a --postfix-dir with a space is refused" 64 herald mta postfix --postfix-dir "$T/pf conf"
like "$err" "Postfix would split" && [ -z "$out" ]; ok $? "saying why, printing nothing"
finish

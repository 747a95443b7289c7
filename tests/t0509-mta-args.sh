#!/bin/sh
# herald mta writes --user, --bin and the configuration path into the MTA's
# files: a user that is not a valid user name, or a path that the MTA
# would split at white space or read as its own syntax ($ macros), is a
# usage error (64) and nothing is printed; what it does print, Postfix's
# own postconf reads back as one pipe transport with that user.
. "${TOP:-.}/tests/lib.sh"
plan 11

hinit
bad=0
for u in 'x;rm -rf /' 'root
  flags=' 'her ald' 'Herald' '-herald' '1herald' 'a$b' '' \
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'; do
	for m in postfix exim; do
		expect 64 herald mta $m --user "$u" && [ -z "$out" ] &&
		    like "$err" 'is not a valid user name' || { bad=$((bad + 1)); echo "# $m --user '$u'"; }
	done
done
[ $bad = 0 ]; ok $? "9 bad user names: 64, nothing printed, for postfix and exim"
good=0
for u in herald _herald list-admin www_data h1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; do
	expect 0 herald mta postfix --user "$u" && like "$out" " user=$u null_sender=\$" || good=1
done
[ $good = 0 ]; ok $? "valid user names are written as given"
bad=0
for b in 'herald' '/usr/bin/her ald' '/usr/bin/herald
  user=root' '/opt/${sender}/herald' '/usr/bin/"herald"'; do
	expect 64 herald mta postfix --bin "$b" && [ -z "$out" ] || { bad=$((bad + 1)); echo "# --bin '$b'"; }
done
[ $bad = 0 ]; ok $? "a relative --bin, or one with white space, a \$ or quotes: 64"
t "a --config with a line break: 64" 64 herald mta exim --config "$T/etc
herald.conf"
like "$err" 'not an absolute path'; ok $? "says why"

# Postfix reads what herald mta writes: one service, that user, that argv
t "herald mta postfix --user list-admin" 0 herald mta postfix --user list-admin --bin /usr/local/bin/herald
mkdir -p "$T/pf"; : > "$T/pf/main.cf"
printf '%s\n' "$out" | sed -n '/^# --- master.cf/,/^$/p' | grep -v '^#' > "$T/pf/master.cf"
m=$(postconf -c "$T/pf" -M herald/unix 2>&1)
like "$m" '^herald +unix +- +n +n +- +- +pipe flags=DRXq user=list-admin null_sender= argv=/usr/local/bin/herald -c [^ ]+ pipe -f \$\{sender\} -- \$\{recipient\}$' &&
    [ "$(postconf -c "$T/pf" -M | wc -l)" = 1 ]
ok $? "postconf -M reads one pipe service with user=list-admin, -- before the recipient"
t "herald mta exim" 0 herald mta exim --user list-admin
like "$out" 'command = [^ ]+ -c [^ ]+ pipe -f "\$sender_address" -- "\$local_part'; ok $? "Exim's transport passes -- before the recipient too"
t "--user x;rm -rf / writes nothing Postfix could read" 64 herald mta postfix --user 'x;rm -rf /'
[ -z "$out" ]; ok $? "stdout is empty"
finish

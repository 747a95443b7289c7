#!/bin/sh
# The Debian package, for real: make deb builds herald_VERSION_ARCH.deb
# from debian/, lintian finds no error, and it is installed on this very
# machine (so root only): the herald system user and /var/lib/herald
# (0750 herald:herald), nothing enabled, the units pass systemd-analyze
# verify, herald init and herald lists run as herald with the installed
# /etc/herald/herald.conf, a reinstall over an older schema migrates it,
# and a purge says it removes /var/lib/herald and does, with the
# conffiles. The machine is left as found: the test runs only when no
# herald package, /etc/herald or /var/lib/herald is there, one run at a
# time (a lock in /run/lock), and at exit it purges the package and
# removes the user and group it created (Debian's own purge keeps them).
. "${TOP:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP not root: installing a package needs root (CI runs as root)"; exit 0; }
for c in dpkg-buildpackage dh lintian fakeroot systemd-analyze adduser runuser; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP $c is missing (make deps installs debhelper, lintian, fakeroot, systemd, adduser)"; exit 0; }
done
exec 9>/run/lock/herald-t0910.lock
flock -n 9 || { echo "1..0 # SKIP another run of t0910 is installing the package now"; exit 0; }
if dpkg-query -W -f='${Status}' herald 2>/dev/null | grep -q -v 'not-installed'; then
	echo "1..0 # SKIP a herald package is on this machine already ($(dpkg-query -W -f='${Status}' herald)): not touching it"; exit 0
fi
for d in /etc/herald /var/lib/herald; do
	[ ! -e $d ] || { echo "1..0 # SKIP $d exists on this machine: the test would change it"; exit 0; }
done
had_user=no; getent passwd herald >/dev/null && had_user=yes
had_group=no; getent group herald >/dev/null && had_group=yes
# at exit: purge what the test installed, and the user and group it made
leave_as_found() {
	dpkg-query -W herald >/dev/null 2>&1 && dpkg --purge herald >/dev/null 2>&1
	[ $had_user = yes ] || userdel herald 2>/dev/null
	[ $had_group = yes ] || groupdel herald 2>/dev/null
	rm -rf /var/lib/herald /etc/herald
	rm -f /run/lock/herald-t0910.lock
}
at_exit leave_as_found
plan 26

V=$(sed -n 's/^#define HERALD_VERSION "\(.*\)"/\1/p' "$TOP/src/util/herald.h")
A=$(dpkg-architecture -qDEB_HOST_ARCH)
DEB=$T/herald_${V}_$A.deb
# no debug-symbol package: nothing here installs it, and it halves lintian's work
DEB_BUILD_OPTIONS=noddebs make -s -C "$TOP" deb DEBDIR="$T/deb" DEBOUT="$T" >"$T/deb.log" 2>&1
ok $? "make deb builds the package"
[ -s "$DEB" ] || tail -20 "$T/deb.log" | sed 's/^/#   /'
[ -s "$DEB" ]; ok $? "named herald_VERSION_ARCH.deb ($(basename "$DEB"))"
lintian "$T/deb/herald_${V}_$A.changes" >"$T/lintian.out" 2>&1
echo "# lintian: $(grep -c '^E:' "$T/lintian.out") error(s), $(grep -c '^W:' "$T/lintian.out") warning(s)"
grep '^[EW]:' "$T/lintian.out" | sed 's/^/#   lintian: /'
! grep -q '^E:' "$T/lintian.out"; ok $? "lintian finds no error"

dpkg-deb -c "$DEB" | awk '{ print $NF }' | sed 's|^\./|/|' > "$T/files"
missing=
for f in /usr/bin/herald /etc/herald/herald.conf /etc/herald/lists/example.conf.sample \
    /usr/share/herald/templates/summit/text.mustache /usr/share/herald/templates/web/unsubscribe.mustache \
    /usr/share/man/man1/herald.1.gz /usr/share/man/man5/herald.conf.5.gz \
    /usr/share/bash-completion/completions/herald /usr/share/zsh/vendor-completions/_herald \
    /lib/systemd/system/herald-serve.service /lib/systemd/system/herald-lmtp.socket \
    /lib/systemd/system/herald-lmtp.service /lib/systemd/system/herald-run.service \
    /lib/systemd/system/herald-maintain.service /lib/systemd/system/herald-maintain.timer; do
	grep -qx "$f" "$T/files" || missing="$missing $f"
done
[ -z "$missing" ]; ok $? "it holds the binary, the configuration, templates, man pages, completion and units${missing:+ (missing:$missing)}"
dpkg-deb -e "$DEB" "$T/ctl"
grep -qx /etc/herald/herald.conf "$T/ctl/conffiles"; ok $? "/etc/herald/herald.conf is a conffile"

expect 0 dpkg -i "$DEB"; ok $? "dpkg -i installs it"
u=$(getent passwd herald)
[ -n "$u" ] && [ "$(echo "$u" | cut -d: -f3)" -lt 1000 ] && [ "$(echo "$u" | cut -d: -f6)" = /var/lib/herald ]
ok $? "postinst made the system user herald ($u)"
[ "$(stat -c '%a %U %G' /var/lib/herald)" = "750 herald herald" ]; ok $? "and /var/lib/herald 0750 herald:herald ($(stat -c '%a %U %G' /var/lib/herald))"
[ -z "$(ls /etc/systemd/system/*.wants/ 2>/dev/null | grep herald)" ]; ok $? "no unit is enabled"
[ "$(grep -l '^ConditionPathExistsGlob=/etc/herald/lists/\*.conf$' /lib/systemd/system/herald-* | wc -l)" = 6 ]
ok $? "every unit waits for a list (ConditionPathExistsGlob=/etc/herald/lists/*.conf)"
grep -q '^ExecStart=/usr/bin/herald serve$' /lib/systemd/system/herald-serve.service &&
    grep -q '^Environment=HERALD_CONFIG=/etc/herald/herald.conf$' /lib/systemd/system/herald-serve.service
ok $? "the units run /usr/bin/herald with /etc/herald/herald.conf"
w=$(cd / && systemd-analyze verify /lib/systemd/system/herald-*.service /lib/systemd/system/herald-*.socket \
    /lib/systemd/system/herald-*.timer 2>&1); rc=$?
printf '%s\n' "$w" | grep . | sed 's/^/#   /'
[ $rc = 0 ] && [ -z "$(printf '%s\n' "$w" | grep -v 'Failed to resolve group "postfix"\|SocketGroup=postfix' | grep .)" ]
ok $? "systemd-analyze verify finds nothing in the installed units"

# herald as the herald user, with the installed configuration (no -c)
hh() { (cd / && env -u HERALD_CONFIG runuser -u herald -- /usr/bin/herald "$@"); }
t "herald --version: the packaged binary" 0 hh --version
like "$out" "^herald $V"; ok $? "says $V"
t "herald init as herald" 0 hh init
[ "$(stat -c '%U' /var/lib/herald/herald.db)" = herald ] && [ "$(stat -c '%a' /var/lib/herald/secret)" = 600 ]
ok $? "the database is herald's, the secret 0600"
t "herald lists with no list yet" 0 hh lists
cp /etc/herald/lists/example.conf.sample /etc/herald/lists/example.conf
t "herald lists with the example list copied in" 0 hh lists
like "$out" 'example' && like "$out" 'announce@lists.example.org'; ok $? "shows it"

# an upgrade over an older schema: postinst runs herald init as herald
latest=$("$BUILD/tools/store-at" "$T/probe.db" 1)
rm -f /var/lib/herald/herald.db /var/lib/herald/herald.db-wal /var/lib/herald/herald.db-shm
"$BUILD/tools/store-at" /var/lib/herald/herald.db $((latest - 1)) >/dev/null &&
    chown herald:herald /var/lib/herald/herald.db
expect 0 dpkg -i "$DEB"; ok $? "reinstalling over a schema $((latest - 1)) database"
like "$out" 'herald: bringing the database' && like "$out" "schema $latest, created or upgraded"
ok $? "postinst migrates it as herald"
[ "$(sqlite3 /var/lib/herald/herald.db 'PRAGMA user_version')" = "$latest" ]; ok $? "to schema $latest"

rm -f /etc/herald/lists/example.conf
expect 0 dpkg --purge herald; ok $? "dpkg --purge"
like "$out" 'removing /var/lib/herald'; ok $? "says it removes /var/lib/herald"
[ ! -e /var/lib/herald ]; ok $? "/var/lib/herald is gone"
[ ! -e /etc/herald ] && [ ! -e /usr/bin/herald ] && [ -z "$(ls /lib/systemd/system/herald-* 2>/dev/null)" ]
ok $? "the conffiles, the binary and the units are gone"
if getent passwd herald >/dev/null; then
	echo "# the herald user stays, as Debian has it (the test removes it at exit)"
else
	echo "# the herald user is gone"
fi
finish

# tests/t0903/campaign.sh - one campaign with a bit of everything, for the
# JSON and report tests (t0903, t0904): sourced after tests/lib.sh and
# tests/t0400/common.sh. The summit sent to users and developers of
# xen-users through the fault server (tests/smtp-fault.py): most accepted,
# 550 and 554 refused, 450 deferred and then delivered by a retry; then,
# through herald pipe as the MTA would run it, a hard and a soft bounce to
# the VERP addresses the messages really carried, two replies to the
# announcement and one unsubscribe by token. Sets CAMPAIGN (its id).

HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
D=lists.xenproject.org
PORT=$(free_port)
LOG=$T/delivered
relay_conf "$PORT" "send {" "retry_base = 300" "}"
{
	echo "email,name,role"
	for a in u1 u2 u3 u4 rcpt450 rcpt550; do echo "$a@f.test,$a,user"; done
	for a in d1 d2 d3 data554; do echo "$a@g.test,$a,developer"; done
} >"$T/subs.csv"
herald sub import xen-users "$T/subs.csv" >/dev/null
start_fault "$PORT" "$LOG"
herald send summit --list xen-users --segment users --segment developers \
    --yes >"$T/send.out" 2>&1
CAMPAIGN=$(sql "SELECT max(id) FROM campaigns")
herald campaign retry "$CAMPAIGN" >"$T/retry.out" 2>&1

# verp ADDRESS - the envelope sender the message to ADDRESS left with
verp() { awk -v a="$1" '$1 == a { print $2 }' "$LOG" | tail -n 1; }
# dsn RCPT STATUS ACTION - a bounce of RCPT's message, as Postfix writes it
dsn() {
	cat <<EOM
From: MAILER-DAEMON@mx.f.test (Mail Delivery System)
To: $(verp "$1")
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

<$1>: the mail system said $2

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.f.test

Final-Recipient: rfc822; $1
Action: $3
Status: $2
Diagnostic-Code: smtp; ${2%%.*}50 $2 mailbox trouble

--B--
EOM
}
dsn u2@f.test 5.1.1 failed >"$T/b1"
herald pipe -f '' "$(verp u2@f.test)" <"$T/b1" 2>>"$T/pipe.err"
dsn d2@g.test 4.2.2 delayed >"$T/b2"
herald pipe -f '' "$(verp d2@g.test)" <"$T/b2" 2>>"$T/pipe.err"

# reply FROM - a reply to the announcement FROM got
reply() {
	_d=$(sql "SELECT d.id FROM deliveries d JOIN subscribers s ON
	    s.id = d.subscriber_id WHERE s.email = '$1'")
	# the Message-ID the message really carried (its MAC links the reply)
	_m=$(awk -v a="$1" '$1 == a { print $2 }' "$LOG.msgids" | tail -n 1)
	cat <<EOM
From: $1
To: xen-users@$D
Subject: Re: the summit
In-Reply-To: <$_m>
Message-ID: <reply-$_d@f.test>
Date: Mon, 8 Sep 2014 10:00:00 +0000

Is there a student price?
EOM
}
reply u3@f.test >"$T/r1"
herald pipe -f u3@f.test "xen-users@$D" <"$T/r1" 2>>"$T/pipe.err"
reply d3@g.test >"$T/r2"
herald pipe -f d3@g.test "xen-users@$D" <"$T/r2" 2>>"$T/pipe.err"

# an unsubscribe by token, as the List-Unsubscribe mailto carries it
U=$(sql "SELECT id FROM subscribers WHERE email = 'u4@f.test'")
printf 'From: u4@f.test\nTo: x\nSubject: unsubscribe\n\nunsubscribe\n' >"$T/u1"
herald pipe -f u4@f.test "xen-users-unsubscribe+$("$BUILD/tools/herald-token" "$T/data/secret" u xen-users "$U")@$D" <"$T/u1" 2>>"$T/pipe.err"

package mail

import (
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// writeHostile rewrites testdata/hostile from hostileMessages: go test -run
// TestWriteHostile -hostile.write. The files are committed; this only documents how they
// were made (byte by byte, which a text editor would not keep: NUL, ESC, latin1, CR).
var writeHostile = flag.Bool("hostile.write", false, "rewrite testdata/hostile/*.eml from hostileMessages")

func TestWriteHostile(t *testing.T) {
	if !*writeHostile {
		t.Skip("only with -hostile.write")
	}
	dir := filepath.Join("testdata", "hostile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range hostileMessages() {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// crlf turns LF line ends into CRLF, as mail travels.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// enc encodes s in a charset, for hand-made non-UTF-8 mail.
func enc(e encoding.Encoding, s string) string {
	out, err := e.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return out
}

// bword is an RFC 2047 B encoded word of s in the charset.
func bword(charset string, e encoding.Encoding, s string) string {
	raw := s
	if e != nil {
		raw = enc(e, s)
	}
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString([]byte(raw)) + "?="
}

func b64(s string) string {
	e := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(e) > 76 {
		b.WriteString(e[:76] + "\n")
		e = e[76:]
	}
	b.WriteString(e + "\n")
	return b.String()
}

const hdr = "From: Ann Customer <ann@customer.test>\nTo: support@helpdesk.test\nDate: Tue, 7 Apr 2026 10:00:00 +0000\nMIME-Version: 1.0\n"

// hostileMessages are the hand-made messages of testdata/hostile, by file name. Each has
// its expectation in TestParse_Hostile.
func hostileMessages() map[string]string {
	m := map[string]string{}
	add := func(name, s string) { m[name] = crlf(s) }
	addRaw := func(name, s string) { m[name] = s }

	add("plain.eml", hdr+"Subject: Printer on fire\nMessage-ID: <plain-1@customer.test>\nContent-Type: text/plain; charset=utf-8\n\nHello,\nthe printer is on fire.\n")
	addRaw("lf-only.eml", hdr+"Subject: LF only\nMessage-ID: <lf-1@customer.test>\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: text/plain\n\nbody with LF ends\n--b1\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n"+b64("%PDF-1.4 lf")+"--b1--\n")
	addRaw("mixed-line-ends.eml", crlf(hdr+"Subject: Mixed line ends\nMessage-ID: <mixed-1@customer.test>\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: text/plain\n\nfirst part CRLF\n")+"--b1\nContent-Type: text/plain; name=second.txt\nContent-Disposition: attachment\n\nsecond part LF\n--b1--\n")
	add("multipart-no-final-boundary.eml", hdr+"Subject: No final boundary\nMessage-ID: <nofinal-1@customer.test>\nContent-Type: multipart/mixed; boundary=\"XyZ\"\n\n--XyZ\nContent-Type: text/plain\n\nThe text survives.\n--XyZ\nContent-Type: image/png; name=\"shot.png\"\nContent-Transfer-Encoding: base64\n\n"+b64("\x89PNG\r\n\x1a\nfake image data")+"\n")
	add("multipart-no-boundary-param.eml", hdr+"Subject: No boundary parameter\nMessage-ID: <nobparam-1@customer.test>\nContent-Type: multipart/mixed\n\nThis is a multi-part message in MIME format.\n--guessed.boundary\nContent-Type: text/plain\n\nFound by guessing.\n--guessed.boundary\nContent-Type: application/zip; name=logs.zip\nContent-Transfer-Encoding: base64\n\n"+b64("PK\x03\x04zip")+"--guessed.boundary--\n")
	add("multipart-no-boundary-at-all.eml", hdr+"Subject: No boundary at all\nMessage-ID: <noboundary-1@customer.test>\nContent-Type: multipart/alternative\n\nJust text, although the header says multipart.\n")
	add("multipart-wrong-boundary.eml", hdr+"Subject: Wrong boundary\nMessage-ID: <wrongb-1@customer.test>\nContent-Type: multipart/mixed; boundary=declared\n\n--actual\nContent-Type: text/plain\n\nThe boundary used is not the one declared.\n--actual--\n")
	add("unknown-charset-latin1.eml", hdr+"Subject: Unknown charset\nMessage-ID: <unkcs-1@customer.test>\nContent-Type: text/plain; charset=x-klingon\nContent-Transfer-Encoding: 8bit\n\n"+enc(charmap.ISO8859_1, "Grüße aus Köln, café")+"\n")
	add("unknown-charset-utf8.eml", hdr+"Subject: Unknown charset, UTF-8 text\nMessage-ID: <unkcs-2@customer.test>\nContent-Type: text/plain; charset=\"bogus-8\"\nContent-Transfer-Encoding: 8bit\n\nZürich → Genève ✓\n")
	add("header-8bit-latin1.eml", "From: "+enc(charmap.ISO8859_1, "Jürgen Müller")+" <Juergen@Customer.Test>\nTo: support@helpdesk.test\nSubject: "+enc(charmap.ISO8859_1, "Rückfrage zur Rechnung")+"\nMessage-ID: <8bit-1@customer.test>\n\nText.\n")
	add("header-8bit-utf8.eml", "From: Jürgen Müller <juergen@customer.test>\nTo: support@helpdesk.test\nSubject: Rückfrage – Rechnung №5\nMessage-ID: <8bit-2@customer.test>\nContent-Type: text/plain; charset=utf-8\n\nText.\n")
	add("no-message-id.eml", hdr+"Subject: No Message-ID\n\nA message without an ID.\n")
	add("message-id-whitespace.eml", hdr+"Subject: Message-ID with a space\nMessage-ID: <abc def@customer.test>\n\nText.\n")
	add("message-id-unbracketed.eml", hdr+"Subject: Message-ID without brackets\nMessage-ID:   unbracketed-1@customer.test  \n\nText.\n")
	add("message-id-empty.eml", hdr+"Subject: Empty Message-ID\nMessage-ID: <>\n\nText.\n")
	add("message-id-too-long.eml", hdr+"Subject: Absurd Message-ID\nMessage-ID: <"+strings.Repeat("x", 1000)+"@customer.test>\n\nText.\n")
	add("html-only.eml", hdr+"Subject: HTML only\nMessage-ID: <html-1@customer.test>\nContent-Type: text/html; charset=utf-8\n\n<html><head><title>Ignored title</title><style>p{color:red}</style></head><body><script>alert('x')</script><p>Hello&nbsp;support,</p><div>the site is <b>down</b> &amp; slow&hellip;</div><ul><li>first</li><li>second</li></ul>line<br>break<br/><p></p><p></p><p>Regards &lt;Ann&gt;</p></body></html>\n")
	add("html-only-qp-latin1.eml", hdr+"Subject: HTML QP latin1\nMessage-ID: <html-2@customer.test>\nContent-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n<p>Gr=FC=DFe, das ist ein sehr langer Absatz, der mit einem weichen Zeilen=\numbruch fortgesetzt wird.</p>\n")
	inner3 := "From: c@three.test\nSubject: level three\nMessage-ID: <three@x.test>\n\nthird\n"
	inner2 := "From: b@two.test\nSubject: level two\nMessage-ID: <two@x.test>\nContent-Type: multipart/mixed; boundary=L2\n\n--L2\nContent-Type: text/plain\n\nsecond\n--L2\nContent-Type: message/rfc822\n\n" + inner3 + "--L2--\n"
	inner1 := "From: a@one.test\nSubject: level one\nMessage-ID: <one@x.test>\nContent-Type: multipart/mixed; boundary=L1\n\n--L1\nContent-Type: text/plain\n\nfirst\n--L1\nContent-Type: message/rfc822\n\n" + inner2 + "--L1--\n"
	add("nested-rfc822-three-deep.eml", hdr+"Subject: Fwd: Fwd: Fwd: nested\nMessage-ID: <nested-1@customer.test>\nContent-Type: multipart/mixed; boundary=L0\n\n--L0\nContent-Type: text/plain\n\nSee the forwarded mail.\n--L0\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=\"forwarded\"\n\n"+inner1+"--L0--\n")
	add("tnef.eml", hdr+"Subject: Outlook TNEF\nMessage-ID: <tnef-1@customer.test>\nContent-Type: multipart/mixed; boundary=T\n\n--T\nContent-Type: text/plain\n\nSee attached.\n--T\nContent-Type: application/ms-tnef\nContent-Transfer-Encoding: base64\n\n"+b64("\x78\x9f\x3e\x22tnef-stream")+"--T--\n")
	add("winmail-dat.eml", hdr+"Subject: Winmail.dat\nMessage-ID: <tnef-2@customer.test>\nContent-Type: multipart/mixed; boundary=T\n\n--T\nContent-Type: text/plain\n\nSee attached.\n--T\nContent-Type: application/octet-stream; name=\"winmail.dat\"\nContent-Disposition: attachment; filename=\"winmail.dat\"\nContent-Transfer-Encoding: base64\n\n"+b64("\x78\x9f\x3e\x22tnef")+"--T--\n")
	add("filename-dotdot.eml", hdr+"Subject: Path in filename\nMessage-ID: <dotdot-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nx\n--F\nContent-Type: text/plain; name=\"../../../etc/passwd\"\nContent-Disposition: attachment; filename=\"../../../etc/passwd\"\n\nroot:x:0:0\n--F\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"..\"\n\ndots\n--F--\n")
	add("filename-encoded-backslash.eml", hdr+"Subject: Encoded backslashes\nMessage-ID: <bslash-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nx\n--F\nContent-Type: application/octet-stream; name=\""+bword("utf-8", nil, `..\..\Windows\System32\evil.exe`)+"\"\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\n"+b64("MZ")+"--F--\n")
	add("filename-rfc2231-continuation.eml", hdr+"Subject: RFC 2231 continuation\nMessage-ID: <rfc2231-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nx\n--F\nContent-Type: application/pdf\nContent-Disposition: attachment;\n filename*0*=utf-8''Rechnung%20M%C3%A4rz%20;\n filename*1*=2026%20%E2%80%93%20;\n filename*2=\"final.pdf\"\nContent-Transfer-Encoding: base64\n\n"+b64("%PDF")+"--F--\n")
	add("filename-rfc2231-latin1.eml", hdr+"Subject: RFC 2231 latin1\nMessage-ID: <rfc2231-2@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nx\n--F\nContent-Type: text/plain; charset=iso-8859-1\nContent-Disposition: attachment; filename*=iso-8859-1'fr'caf%E9%20cr%E8me.txt\n\n"+enc(charmap.ISO8859_1, "café crème")+"\n--F--\n")
	add("filename-8bit-raw.eml", hdr+"Subject: 8-bit filename\nMessage-ID: <fn8bit-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nx\n--F\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\""+enc(charmap.ISO8859_1, "Übersicht.xls")+"\"\n\ndata\n--F\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"Отчёт.doc\"\n\ndata\n--F--\n")
	add("base64-garbage.eml", hdr+"Subject: Base64 with garbage\nMessage-ID: <b64g-1@customer.test>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nSGVsbG8s!IHRoaXMgaXMg*YmFzZTY0IHdp\ndGggZ2FyYmFnZS4=\n\n")
	add("base64-truncated.eml", hdr+"Subject: Base64 cut short\nMessage-ID: <b64t-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nx\n--F\nContent-Type: application/octet-stream; name=cut.bin\nContent-Transfer-Encoding: base64\n\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=QUJD\nREVGR0g\n--F--\n")
	add("qp-soft-breaks.eml", hdr+"Subject: QP soft breaks\nMessage-ID: <qp-1@customer.test>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nThis line is broken by a soft=\n line break, costs 5 =E2=82=AC, a=3Db, =\nand ends here.\nTrailing =ZZ stays literal.\n")
	addRaw("null-bytes.eml", crlf(hdr+"Subject: Null\x00bytes\nMessage-ID: <null-1@customer.test>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nbefore\x00after\n\x00\x00\nend\n"))
	add("dsn-our-notification.eml", "Return-Path: <>\nFrom: MAILER-DAEMON@mx.customer.test (Mail Delivery System)\nTo: support@helpdesk.test\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <20260407100000.ABC123@mx.customer.test>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"ABC123.1775556000/mx.customer.test\"\n\nThis is a MIME-encapsulated message.\n\n--ABC123.1775556000/mx.customer.test\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<gone@customer.test>: host mx.customer.test said: 550 5.1.1 User unknown\n\n--ABC123.1775556000/mx.customer.test\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.customer.test\nX-Postfix-Queue-ID: ABC123\nArrival-Date: Tue,  7 Apr 2026 10:00:00 +0000 (UTC)\n\nFinal-Recipient: rfc822; Gone@Customer.Test\nOriginal-Recipient: rfc822;gone@customer.test\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.customer.test\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n--ABC123.1775556000/mx.customer.test\nContent-Description: Undelivered Message\nContent-Type: message/rfc822\n\nFrom: Support <support@helpdesk.test>\nTo: gone@customer.test\nSubject: [#42] Your ticket\nMessage-ID: <helpdeskd.n42@helpdesk.test>\nAuto-Submitted: auto-generated\n\nYour ticket was received.\n\n--ABC123.1775556000/mx.customer.test--\n")
	add("dsn-headers-only.eml", "Return-Path: <>\nFrom: Mail Delivery Subsystem <mailer-daemon@relay.test>\nTo: support@helpdesk.test\nSubject: Delivery Status Notification (Failure)\nMessage-ID: <dsn-2@relay.test>\nContent-Type: multipart/report; report-type=\"Delivery-Status\"; boundary=R\n\n--R\nContent-Type: text/plain\n\nDelivery failed.\n--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.test\n\nFinal-Recipient: rfc822; ok@customer.test\nAction: delayed\nStatus: 4.4.1\n\nFinal-Recipient: rfc822; <bad@customer.test>\nAction: Failed\nStatus: 5.2.2 (mailbox full)\n--R\nContent-Type: text/rfc822-headers\n\nFrom: support@helpdesk.test\nTo: bad@customer.test\nMessage-ID: <helpdeskd.n7@helpdesk.test>\nSubject: [#7] Reply\n--R--\n")
	add("out-of-office.eml", "From: Bob <bob@customer.test>\nTo: support@helpdesk.test\nSubject: Automatic reply: [#42] Your ticket\nMessage-ID: <ooo-1@customer.test>\nAuto-Submitted: auto-replied\nIn-Reply-To: <helpdeskd.n42@helpdesk.test>\nContent-Type: text/plain\n\nI am out of the office until Monday.\n")
	add("auto-submitted-no.eml", hdr+"Subject: Auto-Submitted no\nMessage-ID: <asno-1@customer.test>\nAuto-Submitted: No\n\nA human wrote this.\n")
	add("mailing-list.eml", "From: List Member <member@lists.test>\nTo: users@lists.test\nSubject: [users] Weekly digest\nMessage-ID: <list-1@lists.test>\nList-Id: Users <users.lists.test>\nList-Unsubscribe: <mailto:users-leave@lists.test>\nPrecedence: list\n\nList text.\n")
	add("precedence-bulk.eml", "From: News <news@shop.test>\nTo: support@helpdesk.test\nSubject: Our offers\nMessage-ID: <bulk-1@shop.test>\nPrecedence: Bulk\n\nBuy now.\n")
	add("x-autoreply.eml", "From: Robot <robot@customer.test>\nTo: support@helpdesk.test\nSubject: Re: your mail\nMessage-ID: <xar-1@customer.test>\nX-Autoreply: yes\n\nThanks for your mail.\n")
	add("x-auto-response-suppress.eml", "From: Exchange <exchange@customer.test>\nTo: support@helpdesk.test\nSubject: Meeting\nMessage-ID: <xars-1@customer.test>\nX-Auto-Response-Suppress: All\n\nMeeting.\n")
	add("x-loop.eml", "From: Loop <loop@customer.test>\nTo: support@helpdesk.test\nSubject: Loop\nMessage-ID: <xloop-1@customer.test>\nX-Loop: helpdesk@customer.test\n\nLoop.\n")
	add("no-from.eml", "To: support@helpdesk.test\nSubject: Who am I\nMessage-ID: <nofrom-1@customer.test>\n\nNo sender.\n")
	add("from-display-name-only.eml", "From: Just A Name\nTo: support@helpdesk.test\nSubject: Name only\nMessage-ID: <nameonly-1@customer.test>\n\nNo address.\n")
	add("from-odd-display-name.eml", "From: John Q. Public, Jr. (the third) <JQP@Example.COM>\nTo: support@helpdesk.test\nSubject: Odd name\nMessage-ID: <odd-1@example.com>\n\nHi.\n")
	add("from-unknown-charset-word.eml", "From: =?x-unknown?Q?J=FCrgen?= <juergen@customer.test>\nTo: support@helpdesk.test\nSubject: =?x-unknown?Q?Gr=FC=DFe?=\nMessage-ID: <unkword-1@customer.test>\n\nHi.\n")
	add("duplicate-headers.eml", "From: First <first@customer.test>\nFrom: Second <second@customer.test>\nTo: support@helpdesk.test\nSubject: First subject\nSubject: Second subject\nMessage-ID: <dup-first@customer.test>\nMessage-ID: <dup-second@customer.test>\n\nDuplicates.\n")
	add("header-without-colon.eml", "From: Ann <ann@customer.test>\nTo: support@helpdesk.test\nThis line has no colon\nSubject: Header without colon\nBad Key: value\nMessage-ID: <nocolon-1@customer.test>\n\nBody after a broken header.\n")
	add("mbox-from-line.eml", "From ann@customer.test Tue Apr  7 10:00:00 2026\nFrom: Ann <ann@customer.test>\nTo: support@helpdesk.test\nSubject: mbox From line\nMessage-ID: <mbox-1@customer.test>\n\nBody.\n")
	add("subject-iso-2022-jp.eml", "From: Taro <taro@customer.test>\nTo: support@helpdesk.test\nSubject: "+bword("ISO-2022-JP", japanese.ISO2022JP, "請求書について")+"\nMessage-ID: <jp-1@customer.test>\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n"+enc(japanese.ISO2022JP, "こんにちは、請求書が届きません。")+"\n")
	add("subject-koi8-r.eml", "From: Ivan <ivan@customer.test>\nTo: support@helpdesk.test\nSubject: "+bword("KOI8-R", charmap.KOI8R, "Проблема с сайтом")+"\nMessage-ID: <koi8-1@customer.test>\nContent-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n"+enc(charmap.KOI8R, "Сайт не работает.")+"\n")
	add("subject-gb18030.eml", "From: Li <li@customer.test>\nTo: support@helpdesk.test\nSubject: "+bword("GB18030", simplifiedchinese.GB18030, "服务器故障")+"\nMessage-ID: <gb-1@customer.test>\nContent-Type: text/plain; charset=gb18030\nContent-Transfer-Encoding: base64\n\n"+b64(enc(simplifiedchinese.GB18030, "我的服务器无法访问。"))+"\n")
	add("subject-broken-encoded-word.eml", hdr+"Subject: =?utf-8?B?!!!not-base64?= and =?utf-8?Q?caf=C3=A9?= and =?utf-8?X?bad?=\nMessage-ID: <badword-1@customer.test>\n\nText.\n")
	add("subject-control-chars.eml", hdr+"Subject: Tab\there, bell"+bword("utf-8", nil, "\x07 and \r\nBcc: x@evil.test")+"\n   folded   \n\tline\nMessage-ID: <ctl-1@customer.test>\n\nText.\n")
	add("threading-lenient.eml", hdr+"Subject: Re: threading\nMessage-ID: <thr-1@customer.test>\nIn-Reply-To: helpdeskd.n5@helpdesk.test\nReferences: <root@helpdesk.test> (a comment) junk <helpdeskd.n5@helpdesk.test>,\n\tbare@id.test <root@helpdesk.test>\n\nText.\n")
	add("mailer-daemon-from.eml", "From: MAILER-DAEMON@relay.test\nTo: support@helpdesk.test\nSubject: Mail system error\nMessage-ID: <md-1@relay.test>\n\nSomething failed.\n")
	add("return-path-null.eml", "Return-Path: <>\n"+hdr+"Subject: Null return path\nMessage-ID: <rpnull-1@customer.test>\n\nText.\n")
	add("recipients.eml", "Delivered-To: support+7-abcdef@helpdesk.test\nX-Original-To: Billing@Helpdesk.Test\nEnvelope-To: support@helpdesk.test\nFrom: Ann <ann@customer.test>\nTo: Support <SUPPORT@helpdesk.test>, other@customer.test\nCc: \"Billing, Dept\" <billing@helpdesk.test>, undisclosed-recipients:;\nTo: late@customer.test\nSubject: Recipients\nMessage-ID: <rcpt-1@customer.test>\n\nText.\n")
	add("inline-image-no-filename.eml", hdr+"Subject: Pasted screenshot\nMessage-ID: <inline-1@customer.test>\nContent-Type: multipart/related; boundary=R\n\n--R\nContent-Type: text/html; charset=utf-8\n\n<p>See <img src=\"cid:img1\"></p>\n--R\nContent-Type: image/png\nContent-ID: <img1>\nContent-Transfer-Encoding: base64\n\n"+b64("\x89PNGdata")+"--R--\n")
	add("text-attachment-latin1.eml", hdr+"Subject: Text attachment\nMessage-ID: <txtatt-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nBody.\n--F\nContent-Type: text/plain; charset=iso-8859-1; name=notes.txt\nContent-Disposition: attachment; filename=notes.txt\nContent-Transfer-Encoding: 8bit\n\n"+enc(charmap.ISO8859_1, "Grüße")+"\n--F--\n")
	add("alternative-html-first.eml", hdr+"Subject: HTML first\nMessage-ID: <altfirst-1@customer.test>\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/html\n\n<p>html version</p>\n--A\nContent-Type: text/plain\n\nplain version\n--A--\n")
	add("alternative-empty-plain.eml", hdr+"Subject: Empty plain\nMessage-ID: <altempty-1@customer.test>\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\n \n--A\nContent-Type: text/html\n\n<div>only the html has text</div>\n--A--\n")
	add("split-text-around-image.eml", hdr+"Subject: Split text\nMessage-ID: <split-1@customer.test>\nContent-Type: multipart/mixed; boundary=S\n\n--S\nContent-Type: text/plain\n\nText before the image.\n--S\nContent-Type: image/jpeg; name=photo.jpg\nContent-Disposition: inline; filename=photo.jpg\nContent-Transfer-Encoding: base64\n\n"+b64("\xff\xd8\xff\xe0jpeg")+"--S\nContent-Type: text/plain\n\nText after the image.\n--S--\n")
	add("bad-date.eml", "From: Ann <ann@customer.test>\nTo: support@helpdesk.test\nDate: the day before yesterday\nSubject: Bad date\nMessage-ID: <baddate-1@customer.test>\n\nText.\n")
	addRaw("empty.eml", "")
	add("not-a-mail.eml", "\nThis is only a body: no header at all.\n")
	add("part-header-malformed.eml", hdr+"Subject: Malformed part header\nMessage-ID: <parthdr-1@customer.test>\nContent-Type: multipart/mixed; boundary=P\n\n--P\nContent-Type: text/plain\n\nfirst part\n--P\nthis part header has no colon\nContent-Type: application/octet-stream; name=lost.bin\n\nlost\n--P\nContent-Type: application/octet-stream; name=kept.bin\n\nkept\n--P--\n")
	add("unknown-transfer-encoding.eml", hdr+"Subject: Unknown CTE\nMessage-ID: <unkcte-1@customer.test>\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 file.txt\n#86)C\n`\nend\n")
	add("utf16-text.eml", hdr+"Subject: UTF-16 body\nMessage-ID: <utf16-1@customer.test>\nContent-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n"+b64(enc(unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), "UTF-16 text: Ärger"))+"\n")
	add("multipart-digest.eml", hdr+"Subject: Digest\nMessage-ID: <digest-1@customer.test>\nContent-Type: multipart/mixed; boundary=O\n\n--O\nContent-Type: text/plain\n\nTable of contents.\n--O\nContent-Type: multipart/digest; boundary=D\n\n--D\n\nFrom: one@x.test\nSubject: one\n\nfirst\n--D\n\nFrom: two@x.test\nSubject: two\n\nsecond\n--D--\n--O--\n")
	add("report-read-receipt.eml", "From: Bob <bob@customer.test>\nTo: support@helpdesk.test\nSubject: Read: [#42] Your ticket\nMessage-ID: <mdn-1@customer.test>\nContent-Type: multipart/report; report-type=disposition-notification; boundary=M\n\n--M\nContent-Type: text/plain\n\nYour message was read.\n--M\nContent-Type: message/disposition-notification\n\nFinal-Recipient: rfc822; bob@customer.test\nOriginal-Message-ID: <helpdeskd.n42@helpdesk.test>\nDisposition: manual-action/MDN-sent-manually; displayed\n--M--\n")
	add("content-type-garbage.eml", hdr+"Subject: Garbage content type\nMessage-ID: <ctgarbage-1@customer.test>\nContent-Type: ;;;===\"\"\"\n\nStill text.\n")
	add("params-duplicate-unterminated.eml", hdr+"Subject: Broken parameters\nMessage-ID: <params-1@customer.test>\nContent-Type: multipart/mixed; boundary=\"B\"; boundary=\"C\"\n\n--B\nContent-Type: text/plain; charset=\"utf-8\n\nText of a part with a broken charset quote.\n--B\nContent-Type: application/pdf; name=\"a.pdf\"; name=\"b.pdf\n\n%PDF\n--B--\n")
	// Which alternative wins, which text parts are files.
	add("alternative-plain-stub.eml", hdr+"Subject: Newsletter\nMessage-ID: <altstub-1@customer.test>\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain; charset=utf-8\n\nThis newsletter can be read in HTML only.\n--A\nContent-Type: text/html; charset=utf-8\n\n<html><body><h1>April news</h1><p>Our new printer driver is out.</p></body></html>\n--A--\n")
	add("alternative-plain-far-shorter.eml", hdr+"Subject: Export fails\nMessage-ID: <altshort-1@customer.test>\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain; charset=utf-8\n\nThe export fails.\n--A\nContent-Type: text/html; charset=utf-8\n\n<p>The export fails.</p><p>Since the update on Monday every CSV export stops after the first hundred rows, and the log shows a timeout of the reporting service.</p><p>We tried two browsers and three accounts; it is the same for every one of them, and the old export link fails too.</p>\n--A--\n")
	add("text-named-inline-makefile.eml", hdr+"Subject: Build fails\nMessage-ID: <makefile-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain; charset=utf-8\n\nThe build fails with this Makefile:\n--F\nContent-Type: text/plain; charset=us-ascii; name=Makefile\nContent-Disposition: inline; filename=Makefile\n\nall:\n\tgo build ./...\n--F--\n")
	addRaw("text-log-attachment.eml", hdr+"Subject: Log attached\nMessage-ID: <log-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nThe log is attached.\n--F\nContent-Type: text/plain; charset=utf-8; name=\"app.log\"\nContent-Disposition: attachment; filename=\"app.log\"\n\n2026-04-07 10:00:01 ERROR upstream timed out\n2026-04-07 10:00:02 INFO retry\n--F--\n")
	add("html-second-part-mixed.eml", hdr+"Subject: Report below\nMessage-ID: <html2nd-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\nSee the report below.\n--A\nContent-Type: text/html\n\n<p>See the report below.</p>\n--A--\n--F\nContent-Type: text/html; charset=utf-8\n\n<html><body><table><tr><td>Q1</td><td>42</td></tr></table></body></html>\n--F--\n")
	add("html-two-parts-mixed.eml", hdr+"Subject: Two HTML parts\nMessage-ID: <html2-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/html; charset=utf-8\n\n<p>Body in HTML.</p>\n--F\nContent-Type: image/png; name=shot.png\nContent-Transfer-Encoding: base64\n\n"+b64("\x89PNGdata")+"--F\nContent-Type: text/html; charset=utf-8\n\n<p>Second HTML part.</p>\n--F--\n")
	add("html-named-part.eml", hdr+"Subject: Named HTML\nMessage-ID: <htmlname-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nThe report is attached.\n--F\nContent-Type: text/html; charset=utf-8; name=\"report.html\"\nContent-Disposition: inline; filename=\"report.html\"\n\n<p>Quarterly figures</p>\n--F--\n")
	add("reply-html-blockquote.eml", hdr+"Subject: Re: [#42] Printer\nMessage-ID: <replyhtml-1@customer.test>\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain; charset=utf-8\n\nThanks, it works now.\n\nSupport team, Monday morning:\nWe restarted the print server.\n--A\nContent-Type: text/html; charset=utf-8\n\n<div>Thanks, it works now.</div><blockquote type=\"cite\"><div>Support team, Monday morning:</div><div>We restarted the print server.</div></blockquote>\n--A--\n")
	// Raw 8-bit subjects and file names: the mail's declared charset, else the detector's.
	add("header-8bit-gb2312.eml", "From: "+enc(simplifiedchinese.GBK, "李明")+" <li@customer.test>\nTo: support@helpdesk.test\nSubject: "+enc(simplifiedchinese.GBK, "服务器故障报告")+"\nMessage-ID: <8bitgb-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: 8bit\n\n"+enc(simplifiedchinese.GBK, "服务器无法访问。")+"\n--F\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\""+enc(simplifiedchinese.GBK, "报告.pdf")+"\"\nContent-Transfer-Encoding: base64\n\n"+b64("%PDF")+"--F--\n")
	add("header-8bit-shift-jis.eml", "From: Taro <taro@customer.test>\nTo: support@helpdesk.test\nSubject: "+enc(japanese.ShiftJIS, "請求書について")+"\nMessage-ID: <8bitsjis-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain; charset=Shift_JIS\nContent-Transfer-Encoding: 8bit\n\n"+enc(japanese.ShiftJIS, "請求書が届きません。")+"\n--F\nContent-Type: application/pdf; name=\""+enc(japanese.ShiftJIS, "見積書.pdf")+"\"\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\n"+b64("%PDF")+"--F--\n")
	add("header-8bit-koi8-r.eml", "From: Ivan <ivan@customer.test>\nTo: support@helpdesk.test\nSubject: "+enc(charmap.KOI8R, "Проблема с сайтом")+"\nMessage-ID: <8bitkoi-1@customer.test>\nContent-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n"+enc(charmap.KOI8R, "Сайт не работает.")+"\n")
	add("header-8bit-undeclared-gb2312.eml", "From: Li <li@customer.test>\nTo: support@helpdesk.test\nSubject: "+enc(simplifiedchinese.GBK, "关于服务器故障的紧急报告")+"\nMessage-ID: <8bitgbu-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n"+enc(simplifiedchinese.GBK, "我们的服务器从昨天晚上开始无法访问，请尽快帮我们检查一下问题出在哪里。谢谢！")+"\n--F\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\""+enc(simplifiedchinese.GBK, "服务器日志.pdf")+"\"\nContent-Transfer-Encoding: base64\n\n"+b64("%PDF")+"--F--\n")
	add("header-8bit-undeclared-koi8-r.eml", "From: Ivan <ivan@customer.test>\nTo: support@helpdesk.test\nSubject: "+enc(charmap.KOI8R, "Наш сайт не работает со вчерашнего вечера")+"\nMessage-ID: <8bitkoiu-1@customer.test>\n\n"+enc(charmap.KOI8R, "Здравствуйте! Наш сайт не работает со вчерашнего вечера, пожалуйста, проверьте сервер. Мы уже перезапустили браузер и очистили кэш, но страница по-прежнему не открывается. Спасибо!")+"\n")
	// Transfer encodings: a broken last base64 group, attachment bytes kept exactly.
	add("base64-broken-final-group.eml", hdr+"Subject: Base64 without padding\nMessage-ID: <b64pad-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nSGVsbG8gQUJD\nRA\n--F\nContent-Type: application/octet-stream; name=three.bin\nContent-Transfer-Encoding: base64\n\nQUJDREU\n--F\nContent-Type: application/octet-stream; name=short-pad.bin\nContent-Transfer-Encoding: base64\n\nQUJDRA=\n--F--\n")
	add("qp-crlf-attachment.eml", hdr+"Subject: QP attachment\nMessage-ID: <qpcrlf-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nData attached.\n--F\nContent-Type: text/csv; charset=utf-8; name=data.csv\nContent-Disposition: attachment; filename=data.csv\nContent-Transfer-Encoding: quoted-printable\n\nid;price=3D=E2=82=AC\nsoft=\nbreak;x\n2;3   \n--F--\n")
	add("crlf-8bit-attachment.eml", hdr+"Subject: 8bit attachment\nMessage-ID: <crlf8-1@customer.test>\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nNotes attached.\n--F\nContent-Type: text/plain; charset=iso-8859-1; name=notes.txt\nContent-Disposition: attachment; filename=notes.txt\nContent-Transfer-Encoding: 8bit\n\n"+enc(charmap.ISO8859_1, "Grüße\nZeile zwei\n\nEnde")+"\n--F--\n")
	return m
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/imap/imaptest"
	"github.com/helpdeskd/helpdeskd/core"
)

// staffMessage is a message as the staff detail shows it.
type staffMessage struct {
	Message     string `json:"message"`
	FullBody    string `json:"fullBody"`
	Verified    *bool  `json:"verified"`
	Attachments []struct {
		ID       int64  `json:"id"`
		FileName string `json:"fileName"`
	} `json:"attachments"`
}

func (d *desk) staffMessages(t *testing.T, id int64) []staffMessage {
	t.Helper()
	var det struct {
		Messages []staffMessage `json:"messages"`
	}
	d.api(t, "GET", fmt.Sprintf("/api/staff/Ticket/%d", id), d.staffKey, nil, 200, &det)
	return det.Messages
}

// download fetches an attachment's bytes as the customer's panel does.
func (d *desk) download(t *testing.T, ticket, attachment int64) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/Ticket/%d/Attachment/%d?accountId=1", d.base, ticket, attachment), nil)
	req.Header.Set("X-API-Key", d.catKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("download: %d %s", res.StatusCode, b)
	}
	return b
}

// Mail as real clients and robots send it, through Dovecot into the running daemon: an
// Outlook reply that only carries Thread-Index, a Gmail HTML reply behind a stub plain part,
// a forward that opens a ticket, files in text parts, an Apple vacation reply and a bounce
// from a bare MAILER-DAEMON. Each lands where it belongs, and nothing goes to the failed
// mailbox.
func TestEmail_RealWorldMailThroughTheDaemon(t *testing.T) {
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	d := startDesk(t, emailConfig(t, s, t.TempDir(), s.SMTPAddr))
	provisionMail(t, d, s)
	cat, support := s.Address("cat"), s.Address("support")
	run := fmt.Sprint(time.Now().UnixNano())

	imaptest.Deliver(t, s.SMTPAddr, cat, support, compose(cat, support, "Site down", "open-"+run+"@cat.helpdesk.test", "It is down."))
	tk := d.waitTickets(t, 1)[0]
	tag := fmt.Sprintf("[#%d]", tk.ID)
	conf := waitMail(t, s, "cat", tag)
	confID := strings.Trim(conf.header.Get("Message-Id"), "<>")
	threadIndex := conf.header.Get("Thread-Index")
	if threadIndex == "" {
		t.Fatalf("the confirmation has no Thread-Index:\n%s", conf.raw)
	}

	// Outlook: no In-Reply-To, no References, no tag, sent to the plain support address; only
	// the Thread-Index (ours plus five bytes) says which ticket. HTML with its header block.
	outlook := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: RE: Site down\r\nMessage-ID: <outlook-%s@cat.helpdesk.test>\r\n"+
		"Thread-Index: %sAAABLEA=\r\nThread-Topic: Site down\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"+
		`<html><body><div>Outlook says it works now.</div><div id="divRplyFwdMsg"><b>From:</b> Helpdesk<br><b>Sent:</b> Monday<br>`+
		`<b>Subject:</b> %s Site down</div><div>we received your request and opened ticket</div></body></html>`+"\r\n",
		cat, support, run, threadIndex, tag)
	// Gmail: a plain part that is only a stub, the real reply in HTML above gmail_quote.
	gmail := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Re: %s Site down\r\nMessage-ID: <gmail-%s@cat.helpdesk.test>\r\n"+
		"In-Reply-To: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"+
		"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThis message is best viewed in an HTML mail client.\r\n"+
		"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"+
		`<div dir="ltr">The <b>DNS</b> change is done; please check the certificate.</div><br><div class="gmail_quote">`+
		`<div class="gmail_attr">On Mon, Nov 30, 2026 Helpdesk &lt;%s&gt; wrote:<br></div><blockquote class="gmail_quote">we received your request</blockquote></div>`+
		"\r\n--alt--\r\n", cat, support, tag, run, confID, support)
	// A log file with CRLF line ends sent quoted-printable, and a Makefile as a named text
	// part: both are files, byte for byte, and neither is in the text.
	// (The line end before a boundary belongs to the boundary, RFC 2046 §5.1.1.)
	logData := "GET / 502\r\nGET /health 200\r\ntab\there="
	files := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Re: %s Site down\r\nMessage-ID: <files-%s@cat.helpdesk.test>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mix\r\n\r\n"+
		"--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe log and our Makefile.\r\n"+
		"--mix\r\nContent-Type: text/plain; name=Makefile\r\nContent-Disposition: inline; filename=Makefile\r\n\r\nall:\r\n\tgo build\r\n"+
		"--mix\r\nContent-Type: text/plain; name=access.log\r\nContent-Disposition: attachment; filename=access.log\r\n"+
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nGET / 502\r\nGET /health 200\r\ntab=09here=3D\r\n--mix--\r\n",
		cat, support, tag, run)
	// Apple's vacation reply: no Auto-Submitted, only X-Apple-Action and the subject.
	vacation := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Auto reply: %s Site down\r\nMessage-ID: <vacation-%s@cat.helpdesk.test>\r\n"+
		"X-Apple-Action: VACATION\r\nIn-Reply-To: <%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nI am on holiday until Monday.\r\n",
		cat, support, tag, run, confID)
	// A bounce of the confirmation whose From is a bare MAILER-DAEMON.
	bounce := fmt.Sprintf("From: MAILER-DAEMON\r\nTo: %s\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-%s@mx.cat.test>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=D\r\n\r\n"+
		"--D\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"+
		"--D\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.cat.test\r\n\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"+
		"--D\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: %s\r\nMessage-ID: <%s>\r\nSubject: %s Site down\r\n\r\n--D--\r\n",
		support, run, cat, support, confID, tag)
	// A forward that opens a ticket is the ticket's content, all of it.
	forward := compose(cat, support, "Fwd: invoice 4711", "fwd-"+run+"@cat.helpdesk.test",
		"Please look at this one.\n\n---------- Forwarded message ---------\nFrom: Billing <billing@vendor.test>\nDate: Mon, Nov 30, 2026\n"+
			"Subject: invoice 4711\nTo: <cat@helpdesk.test>\n\nYour invoice 4711 is overdue.")

	// Appended as they are: a relay would rewrite the bare MAILER-DAEMON.
	imaptest.AppendAll(t, s, "support", "INBOX", [][]byte{[]byte(outlook), []byte(gmail), []byte(files), []byte(vacation), []byte(bounce), forward})
	imaptest.WaitFor(t, s, "support", "helpdesk/processed", 7, 2*mailWait)
	if n := imaptest.Count(t, s, "support", "helpdesk/failed"); n != 0 {
		t.Fatalf("%d mails in the failed mailbox", n)
	}

	// The poller's workers apply a batch in any order.
	byText := map[string]staffMessage{}
	var texts []string
	for _, m := range d.staffMessages(t, tk.ID) {
		byText[m.Message] = m
		texts = append(texts, m.Message)
	}
	sort.Strings(texts)
	want := []string{"It is down.", "Outlook says it works now.", "The DNS change is done; please check the certificate.", "The log and our Makefile."}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Fatalf("messages %q, want %q", texts, want)
	}
	if full := byText["Outlook says it works now."].FullBody; !strings.Contains(full, "we received your request") {
		t.Errorf("the Outlook reply's full text is not kept for staff: %q", full)
	}
	names := map[string]int64{}
	for _, a := range byText["The log and our Makefile."].Attachments {
		names[a.FileName] = a.ID
	}
	if len(names) != 2 || names["Makefile"] == 0 || names["access.log"] == 0 {
		t.Fatalf("attachments %+v, want Makefile and access.log", names)
	}
	if got := d.download(t, tk.ID, names["access.log"]); !bytes.Equal(got, []byte(logData)) {
		t.Errorf("access.log is %q, want %q (CR bytes kept)", got, logData)
	}
	if got := d.download(t, tk.ID, names["Makefile"]); !bytes.Equal(got, []byte("all:\r\n\tgo build")) {
		t.Errorf("Makefile is %q", got)
	}

	// The forward opened a ticket with its whole text.
	var fwd apiTicket
	for _, tt := range d.waitTickets(t, 2) {
		if tt.ID != tk.ID {
			fwd = d.ticket(t, tt.ID)
		}
	}
	if len(fwd.Messages) != 1 || !strings.Contains(fwd.Messages[0].Message, "Your invoice 4711 is overdue.") ||
		!strings.Contains(fwd.Messages[0].Message, "Please look at this one.") {
		t.Fatalf("forwarded ticket %+v", fwd)
	}

	// The bounce marked the confirmation bounced; nobody answered the robot or the bounce.
	var bounced []struct {
		Recipient string `json:"recipient"`
		TicketID  *int64 `json:"ticketId"`
	}
	d.api(t, "GET", "/api/staff/Notification?state=bounced&limit=100", d.staffKey, nil, 200, &bounced)
	if len(bounced) != 1 || bounced[0].Recipient != cat {
		t.Errorf("bounced notifications %+v, want the confirmation to %s", bounced, cat)
	}
	// Cat was sent the two confirmations (the first ticket, the forward) and nothing else: no
	// answer to the vacation reply, none to the bounce. Every mail is processed, so once the
	// outbox is empty it holds all that was ever queued for cat.
	d.waitOutboxEmpty(t)
	if out := d.decided(t, func(n core.Notification) bool { return n.Recipient == cat }); len(out) != 2 {
		t.Errorf("%d notifications to the customer, want the two confirmations: %+v", len(out), out)
	}
	// And both reached the mailbox (Postfix delivers after the dispatcher is done with them).
	imaptest.WaitFor(t, s, "cat", "INBOX", 2, mailWait)
	if inbox := imaptest.Read(t, s, "cat", "INBOX"); len(inbox) != 2 {
		for _, m := range inbox {
			t.Logf("in cat's mailbox:\n%s", m.Raw)
		}
		t.Errorf("%d mails to the customer, want the two confirmations", len(inbox))
	}
}

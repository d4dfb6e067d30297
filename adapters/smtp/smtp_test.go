package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
	gomessagemail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	gosmtp "github.com/wneessen/go-mail/smtp"

	hdmail "github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/gateway"
)

var ctx = context.Background()

// skipMessage is why the tests that need the mail stack skip.
const skipMessage = "no SMTP server: run ./scripts/test.sh, or scripts/mailstack.sh start DIR and source DIR/env"

// stack is the real Postfix (SMTP) and Dovecot (IMAP) that scripts/mailstack.sh starts.
type stack struct {
	smtpHost string
	smtpPort int
	imapAddr string
	domain   string
}

func liveStack(t *testing.T) stack {
	t.Helper()
	addr := os.Getenv("HELPDESKD_TEST_SMTP_ADDR")
	if addr == "" {
		t.Skip(skipMessage)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("HELPDESKD_TEST_SMTP_ADDR %q: %v", addr, err)
	}
	p, _ := strconv.Atoi(port)
	s := stack{smtpHost: host, smtpPort: p, imapAddr: os.Getenv("HELPDESKD_TEST_IMAP_ADDR"), domain: os.Getenv("HELPDESKD_TEST_MAIL_DOMAIN")}
	if s.domain == "" {
		s.domain = "helpdesk.test"
	}
	return s
}

func (s stack) sender(t *testing.T, fromName string) *Sender {
	t.Helper()
	snd, err := New(Options{Host: s.smtpHost, Port: s.smtpPort, Security: SecurityNone, From: "support@" + s.domain,
		FromName: fromName, HeloName: "helpdeskd.test", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snd.Close() })
	return snd
}

// token is a subject word no other test uses, to find the mail in a shared INBOX.
func token(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "hdsmtp" + hex.EncodeToString(b)
}

// fetch waits for the mail whose Subject holds tok in user's INBOX and returns it raw.
func (s stack) fetch(t *testing.T, user, tok string) []byte {
	t.Helper()
	return s.find(t, user, tok, &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: tok}}})
}

// find waits for the one mail in user's INBOX that criteria finds and returns it raw.
func (s stack) find(t *testing.T, user, tok string, criteria *imap.SearchCriteria) []byte {
	t.Helper()
	if s.imapAddr == "" {
		t.Skip("no IMAP server to read the mail back: HELPDESKD_TEST_IMAP_ADDR is unset")
	}
	c, err := imapclient.DialInsecure(s.imapAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, user+"-pass").Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // a bound for a broken set-up, not a speed test
	for {
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		data, err := c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if uids := data.AllUIDs(); len(uids) > 0 {
			if len(uids) != 1 {
				t.Fatalf("%d mails with %s, want 1", len(uids), tok)
			}
			section := &imap.FetchItemBodySection{Peek: true}
			bufs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
			if err != nil || len(bufs) != 1 {
				t.Fatalf("fetch: %v (%d messages)", err, len(bufs))
			}
			return bufs[0].FindBodySection(section)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail with %s reached %s's INBOX", tok, user)
		}
		_ = c.Unselect().Wait()
		time.Sleep(100 * time.Millisecond)
	}
}

// header reads a raw mail's header.
func header(t *testing.T, raw []byte) (gomessage.Header, *gomessage.Entity) {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read mail: %v\n%s", err, raw)
	}
	return e.Header, e
}

// bodies returns the decoded text/plain and text/html of a mail.
func bodies(t *testing.T, e *gomessage.Entity) (plain, html string) {
	t.Helper()
	err := e.Walk(func(_ []int, part *gomessage.Entity, err error) error {
		if err != nil {
			return err
		}
		typ, _, _ := part.Header.ContentType()
		if typ != "text/plain" && typ != "text/html" {
			return nil
		}
		b, err := io.ReadAll(part.Body)
		if err != nil {
			return err
		}
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		if typ == "text/plain" {
			plain = s
		} else {
			html = s
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return plain, html
}

func TestSend_DeliversEveryHeaderAndBothBodies(t *testing.T) {
	s := liveStack(t)
	snd := s.sender(t, "Hosting Support – Desk")
	for _, tc := range []struct {
		name          string
		autoSubmitted string
		wantAuto      string
		html          string
	}{
		{"notification with HTML", "", "auto-generated", "<p>Grüße, <b>Ann</b> ✓</p>"},
		{"automatic answer, text only", "auto-replied", "auto-replied", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := token(t)
			out := gateway.Outgoing{NotificationID: 42, TicketID: 7, To: "ann@" + s.domain,
				Subject:       "[#7] Grüße – " + tok + " ✓",
				Text:          "Hello Ann,\n\nyour ticket: Grüße ✓\nline two\n\n-- \nSupport\n",
				HTML:          tc.html,
				MessageID:     "helpdeskd.n" + tok + "@" + s.domain,
				InReplyTo:     "helpdeskd.t7@" + s.domain,
				References:    []string{"customer-1@customer.test", "helpdeskd.t7@" + s.domain},
				ReplyTo:       "support+7-abcdef@" + s.domain,
				AutoSubmitted: tc.autoSubmitted}
			before := time.Now().Add(-time.Minute)
			if err := snd.Send(ctx, out); err != nil {
				t.Fatal(err)
			}
			raw := s.fetch(t, "ann", tok)
			h, e := header(t, raw)

			subject, _ := h.Text("Subject")
			from := ""
			if a, err := gomessagemail.ParseAddress(h.Get("From")); err == nil {
				from = a.Name + " | " + a.Address
			}
			for name, got := range map[string]string{
				"Subject":                  subject,
				"From":                     from,
				"To":                       h.Get("To"),
				"Message-Id":               h.Get("Message-Id"),
				"In-Reply-To":              h.Get("In-Reply-To"),
				"References":               h.Get("References"),
				"Reply-To":                 h.Get("Reply-To"),
				"Auto-Submitted":           h.Get("Auto-Submitted"),
				"X-Auto-Response-Suppress": h.Get("X-Auto-Response-Suppress"),
				"Precedence":               h.Get("Precedence"),
			} {
				want := map[string]string{
					"Subject":                  out.Subject,
					"From":                     "Hosting Support – Desk | support@" + s.domain,
					"To":                       "<ann@" + s.domain + ">",
					"Message-Id":               "<" + out.MessageID + ">",
					"In-Reply-To":              "<helpdeskd.t7@" + s.domain + ">",
					"References":               "<customer-1@customer.test> <helpdeskd.t7@" + s.domain + ">",
					"Reply-To":                 "<support+7-abcdef@" + s.domain + ">",
					"Auto-Submitted":           tc.wantAuto,
					"X-Auto-Response-Suppress": "All",
					"Precedence":               "",
				}[name]
				if got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if d, err := time.Parse(time.RFC1123Z, h.Get("Date")); err != nil || d.Before(before) {
				t.Errorf("Date %q: %v", h.Get("Date"), err)
			}
			plain, html := bodies(t, e)
			if plain != out.Text {
				t.Errorf("text body = %q, want %q", plain, out.Text)
			}
			if html != tc.html {
				t.Errorf("HTML body = %q, want %q", html, tc.html)
			}
			typ, _, _ := h.ContentType()
			if wantType := map[bool]string{true: "multipart/alternative", false: "text/plain"}[tc.html != ""]; typ != wantType {
				t.Errorf("Content-Type %s, want %s", typ, wantType)
			}
		})
	}
}

func TestSend_SubjectAndNameCannotAddHeaders(t *testing.T) {
	s := liveStack(t)
	snd := s.sender(t, "Support\r\nBcc: name@evil.test")
	tok := token(t)
	out := gateway.Outgoing{To: "ann@" + s.domain, Subject: "Hello " + tok + "\r\nBcc: x@evil.test\r\nX-Injected: yes",
		Text: "body", MessageID: "helpdeskd.n" + tok + "@" + s.domain}
	if err := snd.Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	raw := s.fetch(t, "ann", tok)
	h, _ := header(t, raw)
	if subjects := h.Values("Subject"); len(subjects) != 1 {
		t.Errorf("%d Subject fields: %q", len(subjects), subjects)
	}
	subject, _ := h.Text("Subject")
	if want := "Hello " + tok + " Bcc: x@evil.test X-Injected: yes"; subject != want {
		t.Errorf("Subject = %q, want %q", subject, want)
	}
	for _, k := range []string{"Bcc", "X-Injected"} {
		if h.Has(k) {
			t.Errorf("a %s field arrived: %q", k, h.Get(k))
		}
	}
	if a, err := gomessagemail.ParseAddress(h.Get("From")); err != nil || a.Name != "Support Bcc: name@evil.test" || a.Address != "support@"+s.domain {
		t.Errorf("From = %q (%v), want the name on one line", h.Get("From"), err)
	}
	// Nothing reached the addresses the subject or the name tried to add.
	if bytes.Contains(raw, []byte("\nBcc:")) || bytes.Contains(raw, []byte("\nX-Injected:")) {
		t.Errorf("an injected field is in the mail:\n%s", raw)
	}
}

func TestSend_RelayDeniedIsPermanentAndConnectionKept(t *testing.T) {
	s := liveStack(t)
	snd := s.sender(t, "Support")
	err := snd.Send(ctx, gateway.Outgoing{To: "x@not-ours.example", Subject: "relay", Text: "x", MessageID: "relay-" + token(t) + "@" + s.domain})
	if !gateway.IsPermanent(err) {
		t.Fatalf("relay to a foreign domain: %v, want a permanent error", err)
	}
	var re *replyError
	// Postfix refuses the foreign domain at RCPT with a 5xx: 554 relay access denied from
	// a client outside mynetworks; from 127.0.0.1 (inside) it would relay, and refuses the
	// domain it cannot resolve with 550 5.1.1 instead. Postfix offers PIPELINING, so this
	// is also the refusal read among the group's replies, the DATA after it refused too.
	if !errors.As(err, &re) || re.reply.Code/100 != 5 || re.step != "RCPT" {
		t.Errorf("error %v, want Postfix's 5xx refusal of the recipient", err)
	}
	t.Logf("Postfix said: %v", err)
	kept := keptConn(snd)
	if kept == nil {
		t.Fatal("connection dropped after a 5xx reply")
	}
	tok := token(t)
	if err := snd.Send(ctx, gateway.Outgoing{To: "ann@" + s.domain, Subject: tok, Text: "after", MessageID: tok + "@" + s.domain}); err != nil {
		t.Fatal(err)
	}
	if keptConn(snd) != kept {
		t.Errorf("a new connection for the next mail, want the kept one")
	}
	s.fetch(t, "ann", tok)
}

func TestSend_ReconnectsAfterTheConnectionBreaks(t *testing.T) {
	s := liveStack(t)
	snd := s.sender(t, "Support")
	first := token(t)
	if err := snd.Send(ctx, gateway.Outgoing{To: "ann@" + s.domain, Subject: first, Text: "one", MessageID: first + "@" + s.domain}); err != nil {
		t.Fatal(err)
	}
	_ = keptConn(snd).Close() // as a server's idle timeout would
	second := token(t)
	if err := snd.Send(ctx, gateway.Outgoing{To: "ann@" + s.domain, Subject: second, Text: "two", MessageID: second + "@" + s.domain}); err != nil {
		t.Fatalf("send on a broken kept connection: %v, want a reconnect", err)
	}
	s.fetch(t, "ann", first)
	s.fetch(t, "ann", second)
}

func TestSend_ConnectionRefusedIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing listens there now
	snd, err := New(Options{Host: "127.0.0.1", Port: port, Security: SecurityNone, From: "support@helpdesk.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = snd.Send(ctx, gateway.Outgoing{To: "ann@helpdesk.test", Subject: "x", Text: "x", MessageID: "refused@helpdesk.test"})
	if err == nil || gateway.IsPermanent(err) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("connection refused: %v, want an error to retry", err)
	}
}

func TestSend_InvalidRecipientIsPermanent(t *testing.T) {
	snd, err := New(Options{Host: "127.0.0.1", Port: 1, Security: SecurityNone, From: "support@helpdesk.test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"", "not an address", "ann@helpdesk.test\r\nBcc: x@evil.test"} {
		if err := snd.Send(ctx, gateway.Outgoing{To: to, Subject: "x", Text: "x"}); !gateway.IsPermanent(err) {
			t.Errorf("recipient %q: %v, want a permanent error", to, err)
		}
	}
}

func TestNew_RefusesBadOptions(t *testing.T) {
	for _, o := range []Options{
		{From: "support@helpdesk.test"},
		{Host: "mx", From: ""},
		{Host: "mx", From: "Support <support@helpdesk.test>"},
		{Host: "mx", From: "support@helpdesk.test", Security: "ssl"},
		{Host: "mx", From: "support@helpdesk.test", Port: 70000},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// fakeServer is an in-process SMTP server that answers one command with a scripted reply:
// Postfix gives no 4xx on demand, so the temporary failures are played here. It does not
// offer PIPELINING (fakePipeliningServer does).
func fakeServer(t *testing.T, failOn, reply string) (host string, port int) {
	return fakeServerOffering(t, "", failOn, reply)
}

// fakePipeliningServer is fakeServer offering PIPELINING.
func fakePipeliningServer(t *testing.T, failOn, reply string) (host string, port int) {
	return fakeServerOffering(t, "PIPELINING", failOn, reply)
}

func fakeServerOffering(t *testing.T, extension, failOn, reply string) (host string, port int) {
	port, _ = acceptCounting(t, func(c net.Conn) { serveFake(c, extension, failOn, reply) })
	return "127.0.0.1", port
}

func serveFake(c net.Conn, extension, failOn, reply string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	say := func(s string) { _, _ = io.WriteString(c, s+"\r\n") }
	say("220 fake ESMTP")
	data := false
	var line []byte
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		line = append(line, buf[:n]...)
		for {
			i := bytes.Index(line, []byte("\r\n"))
			if i < 0 {
				break
			}
			cmd := string(line[:i])
			line = line[i+2:]
			if data {
				if cmd == "." {
					data = false
					if failOn == "." {
						say(reply)
					} else {
						say("250 queued")
					}
				}
				continue
			}
			verb := strings.ToUpper(strings.Fields(cmd + " x")[0])
			switch {
			case verb == failOn:
				say(reply)
			case verb == "EHLO" && extension != "":
				say("250-fake\r\n250-" + extension + "\r\n250 8BITMIME")
			case verb == "EHLO":
				say("250-fake\r\n250 8BITMIME")
			case verb == "DATA":
				data = true
				say("354 go on")
			case verb == "QUIT":
				say("221 bye")
				return
			default:
				say("250 ok")
			}
		}
	}
}

func TestSend_ClassifiesServerReplies(t *testing.T) {
	for _, server := range []struct {
		name  string
		start func(t *testing.T, failOn, reply string) (string, int)
	}{{"one command at a time", fakeServer}, {"pipelined", fakePipeliningServer}} {
		t.Run(server.name, func(t *testing.T) { classifiesServerReplies(t, server.start) })
	}
}

func classifiesServerReplies(t *testing.T, start func(t *testing.T, failOn, reply string) (string, int)) {
	for _, tc := range []struct {
		failOn, reply string
		permanent     bool
	}{
		{"RCPT", "451 4.3.0 try again later", false},
		{"RCPT", "550 5.1.1 no such user", true},
		{"MAIL", "421 4.7.0 too many connections", false},
		{".", "452 4.3.1 insufficient storage", false},
		{".", "554 5.7.1 message rejected as spam", true},
		{"MAIL", "530 5.7.0 authentication required", false},
	} {
		host, port := start(t, tc.failOn, tc.reply)
		snd, err := New(Options{Host: host, Port: port, Security: SecurityNone, From: "support@helpdesk.test", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = snd.Send(ctx, gateway.Outgoing{To: "ann@helpdesk.test", Subject: "x", Text: "x", MessageID: "fake@helpdesk.test"})
		if err == nil || gateway.IsPermanent(err) != tc.permanent {
			t.Errorf("%s answered %q: %v, want permanent %v", tc.failOn, tc.reply, err, tc.permanent)
		}
		// A refusal leaves the connection in a state for the next mail (this server refuses
		// every one the same way), except a 421, the server's goodbye.
		kept := keptConn(snd)
		if tc.reply[:3] == "421" {
			if kept != nil {
				t.Errorf("%s answered %q: connection kept, want it dropped", tc.failOn, tc.reply)
			}
		} else if err2 := snd.Send(ctx, gateway.Outgoing{To: "ann@helpdesk.test", Subject: "x", Text: "x", MessageID: "fake@helpdesk.test"}); err2 == nil ||
			err2.Error() != err.Error() || keptConn(snd) != kept || kept == nil {
			t.Errorf("%s answered %q: the next mail on the kept connection failed with %v, want %v again", tc.failOn, tc.reply, err2, err)
		}
		_ = snd.Close()
	}
}

func TestMessage_HeaderValues(t *testing.T) {
	snd, err := New(Options{Host: "mx.helpdesk.test", From: "support@helpdesk.test", FromName: "Support"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := snd.Render(gateway.Outgoing{To: "ann@helpdesk.test", Subject: "s", Text: "t", AutoSubmitted: "auto-replied; x\r\nBcc: y",
		MessageID: "bad id@x", InReplyTo: "<bracketed@x>", References: []string{"ok@x", "bad\r\n@x", ""}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := textproto.ReadHeader(newBufReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<helpdeskd.") || !strings.HasSuffix(id, "@helpdesk.test>") {
		t.Errorf("Message-ID %q, want one made up for an invalid one", id)
	}
	for k, want := range map[string]string{"In-Reply-To": "", "References": "<ok@x>", "Auto-Submitted": "auto-generated", "User-Agent": "helpdeskd"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func newBufReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// Outlook threads by Thread-Index: every mail about a ticket carries the ticket's index, and
// an index whose first 22 bytes are ours names that ticket again.
func TestMessage_ThreadIndex(t *testing.T) {
	secret := []byte("thread-secret")
	snd, err := New(Options{Host: "mx.helpdesk.test", From: "support@helpdesk.test", ThreadSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := snd.Render(gateway.Outgoing{To: "ann@helpdesk.test", TicketID: 42, Subject: "[#42] Site down", Text: "t"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := textproto.ReadHeader(newBufReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := hdmail.TicketFromThreadIndex(secret, h.Get("Thread-Index")); !ok || id != 42 {
		t.Errorf("Thread-Index %q names %d %v, want ticket 42", h.Get("Thread-Index"), id, ok)
	}
	if got := h.Get("Thread-Topic"); got != "Site down" {
		t.Errorf("Thread-Topic %q", got)
	}
	raw, _ = snd.Render(gateway.Outgoing{To: "ann@helpdesk.test", Subject: "Your message", Text: "t"})
	if h, _ := textproto.ReadHeader(newBufReader(raw)); h.Has("Thread-Index") {
		t.Error("a notice about no ticket has a Thread-Index")
	}
}

// keptConn returns the kept connection of a one-connection Sender (nil if none).
func keptConn(s *Sender) *gosmtp.Client {
	c := <-s.idle
	s.idle <- c
	return c.conn
}

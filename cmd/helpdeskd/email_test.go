package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/imap/imaptest"
	"github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// The tests in this file run the whole daemon against the real mail stack: mail in through
// Postfix to Dovecot, the daemon's IMAP poller reading support's INBOX, notifications out
// through Postfix to the customers' mailboxes, read back over IMAP. They use the users
// support (the desk), cat (a customer), dan (another customer), staff and mallory (unknown).

const mailWait = 60 * time.Second // a bound for a broken set-up, not a speed assertion

const e2eSecret = "e2e-reply-token-secret-0123456789"

// emailConfig is a daemon configuration for the mail stack; smtpAddr overrides Postfix's
// address (a proxy in front of it).
func emailConfig(t testing.TB, s imaptest.Server, dir, smtpAddr string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Database.Path = filepath.Join(dir, "data", "helpdeskd.db")
	cfg.Email.Enabled = true
	cfg.Email.Address = s.Address("support")
	cfg.Email.Name = "Helpdesk"
	cfg.Email.Secret = e2eSecret
	cfg.Email.IMAP.Host, cfg.Email.IMAP.Port, cfg.Email.IMAP.Security = s.Host(), s.Port(), config.SecurityNone
	cfg.Email.IMAP.Username, cfg.Email.IMAP.Password = "support", imaptest.Password("support")
	cfg.Email.IMAP.PollInterval = config.Duration{Duration: time.Second}
	host, port, _ := net.SplitHostPort(smtpAddr)
	cfg.Email.SMTP.Host, cfg.Email.SMTP.Security = host, config.SecurityNone
	fmt.Sscan(port, &cfg.Email.SMTP.Port)
	cfg.Notify.StaffEmails = []string{s.Address("staff")}
	cfg.Notify.RetryDelay = config.Duration{Duration: 500 * time.Millisecond}
	cfg.Notify.MaxRetryDelay = config.Duration{Duration: 2 * time.Second}
	cfg.Panel.TicketURL = "https://panel.helpdesk.test/support/{id}"
	useTestStore(t, &cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// desk is a daemon running in-process with its API keys.
type desk struct {
	m                *Main
	base             string
	catKey, staffKey string
	cancel           context.CancelFunc
	done             chan error
}

// startDesk runs a daemon on cfg; setup, if any, changes it before it opens.
func startDesk(t testing.TB, cfg config.Config, setup ...func(*Main)) *desk {
	t.Helper()
	registerSecrets(t, configSecrets(cfg)...)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m := NewMain(cfg, logger)
	for _, f := range setup {
		f(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	d := &desk{m: m, base: "http://" + m.Addr(), cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- m.Run(ctx) }()
	t.Cleanup(d.stop)
	return d
}

// readBlob reads the bytes the daemon's store keeps under hash.
func readBlob(t *testing.T, d *desk, hash string) string {
	t.Helper()
	rc, err := d.m.DB.Blobs().Open(context.Background(), hash)
	if err != nil {
		t.Fatalf("open blob %s: %v", hash, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (d *desk) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
	d.m.Close()
	d.cancel = nil
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	checkLogLine(w.t, strings.TrimRight(string(p), "\n"))
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// provisionMail makes account 1 with customers cat and dan and the staff user, and keys.
func provisionMail(t testing.TB, d *desk, s imaptest.Server) {
	t.Helper()
	ctx := context.Background()
	sys := core.System()
	svc := d.m.Service
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int64{1, 2} {
		_, err := svc.PutAccount(ctx, sys, core.Account{ID: id, Name: fmt.Sprint("Account ", id)})
		must(err)
	}
	for _, u := range []core.User{
		{ID: 1, Email: s.Address("cat"), Name: "Cat", AccountIDs: []int64{1}},
		{ID: 2, Email: s.Address("dan"), Name: "Dan", AccountIDs: []int64{2}},
		{ID: 9, Email: s.Address("staff"), Name: "Stan Staff", Role: core.RoleStaff},
	} {
		_, err := svc.PutUser(ctx, sys, u)
		must(err)
	}
	var err error
	_, d.catKey, err = svc.CreateAPIKey(ctx, sys, 1)
	must(err)
	_, d.staffKey, err = svc.CreateAPIKey(ctx, sys, 9)
	must(err)
	registerSecrets(t, d.catKey, d.staffKey)
}

// api calls the REST API and decodes the envelope's data into out (if not nil).
func (d *desk) api(t testing.TB, method, path, key string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	req.Header.Set("X-API-Key", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data    json.RawMessage `json:"data"`
		Message string          `json:"message"`
	}
	json.NewDecoder(resp.Body).Decode(&env)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, env.Message, want)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatal(err)
		}
	}
}

type apiTicket struct {
	ID       int64  `json:"id"`
	Subject  string `json:"subject"`
	Status   int    `json:"status"`
	Messages []struct {
		Author  string `json:"author"`
		Channel string `json:"channel"`
		Message string `json:"message"`
	} `json:"messages"`
}

// waitTickets waits until account 1 (as seen by staff) has n tickets and returns them
// newest first.
func (d *desk) waitTickets(t testing.TB, n int) []apiTicket {
	t.Helper()
	var list []apiTicket
	eventually(t, mailWait, func() error {
		list = nil
		d.api(t, "GET", "/api/Ticket?accountId=1&pageSize=100", d.staffKey, nil, 200, &list)
		if len(list) < n {
			return fmt.Errorf("%d tickets, want %d", len(list), n)
		}
		return nil
	})
	return list
}

func (d *desk) ticket(t *testing.T, id int64) apiTicket {
	t.Helper()
	var tk apiTicket
	d.api(t, "GET", fmt.Sprintf("/api/Ticket/%d?accountId=1", id), d.staffKey, nil, 200, &tk)
	return tk
}

// waitMessages waits until ticket id has n messages.
func (d *desk) waitMessages(t *testing.T, id int64, n int) apiTicket {
	t.Helper()
	var tk apiTicket
	eventually(t, mailWait, func() error {
		tk = d.ticket(t, id)
		if len(tk.Messages) < n {
			return fmt.Errorf("ticket %d has %d messages, want %d", id, len(tk.Messages), n)
		}
		return nil
	})
	return tk
}

// received is a mail read back from a mailbox.
type received struct {
	header netmail.Header
	in     gateway.Inbound
	raw    []byte
}

// waitMail waits for a mail in user's INBOX whose subject contains want.
func waitMail(t *testing.T, s imaptest.Server, user, want string) received {
	t.Helper()
	var got received
	eventually(t, mailWait, func() error {
		for _, m := range imaptest.Read(t, s, user, "INBOX") {
			msg, err := netmail.ReadMessage(bytes.NewReader(m.Raw))
			if err != nil {
				continue
			}
			in, err := mail.Parse(m.Raw, mail.Options{})
			if err == nil && strings.Contains(in.Subject, want) {
				got = received{header: msg.Header, in: in, raw: m.Raw}
				return nil
			}
		}
		return fmt.Errorf("no mail %q for %s", want, user)
	})
	return got
}

// waitOutboxEmpty waits until no notification is pending. Called once the mails a test
// delivered are in helpdesk/processed: the poller moves a mail only after its change is
// committed, so whatever the mails queued is in the outbox by then, and once the outbox is
// empty every notification has been decided (sent, bounced or failed).
func (d *desk) waitOutboxEmpty(t testing.TB) {
	t.Helper()
	eventually(t, mailWait, func() error {
		n, err := d.m.DB.OutboxDepth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return fmt.Errorf("%d notifications pending", n)
		}
		return nil
	})
}

// decided lists the notifications that went out or were given up (sent, bounced, failed)
// and match keep.
func (d *desk) decided(t testing.TB, keep func(core.Notification) bool) []core.Notification {
	t.Helper()
	var out []core.Notification
	for _, state := range []core.NotificationState{core.NotificationSent, core.NotificationBounced, core.NotificationFailed} {
		list, err := d.m.DB.Notifications(context.Background(), state, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range list {
			if keep(n) {
				out = append(out, n)
			}
		}
	}
	return out
}

func mailCount(t *testing.T, s imaptest.Server, user, want string) int {
	n := 0
	for _, m := range imaptest.Read(t, s, user, "INBOX") {
		if in, err := mail.Parse(m.Raw, mail.Options{}); err == nil && strings.Contains(in.Subject, want) {
			n++
		}
	}
	return n
}

// compose writes a plain-text mail.
func compose(from, to, subject, msgID, body string, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n",
		from, to, subject, msgID, time.Now().Format(time.RFC1123Z))
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
	return []byte(b.String())
}

// quote renders the customer's answer with the quoted notification below it, as mail
// clients do.
func quote(answer string, r received) string {
	var b strings.Builder
	b.WriteString(answer + "\n\nOn " + time.Now().Format("Mon, Jan 2, 2006 at 15:04") + " Helpdesk <support@helpdesk.test> wrote:\n")
	for _, l := range strings.Split(r.in.Text, "\n") {
		b.WriteString("> " + l + "\n")
	}
	return b.String()
}

func bracket(ids ...string) string {
	var out []string
	for _, id := range ids {
		out = append(out, "<"+id+">")
	}
	return strings.Join(out, " ")
}

func resetMailboxes(t testing.TB, s imaptest.Server) {
	for _, u := range []string{"support", "cat", "dan", "staff", "mallory"} {
		imaptest.Clear(t, s, u)
	}
}

func TestEmail_EndToEnd(t *testing.T) {
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	d := startDesk(t, emailConfig(t, s, t.TempDir(), s.SMTPAddr))
	provisionMail(t, d, s)
	cat, support := s.Address("cat"), s.Address("support")
	run := fmt.Sprint(time.Now().UnixNano())

	// A customer's mail becomes ticket #N.
	firstID := "first-" + run + "@cat.helpdesk.test"
	imaptest.Deliver(t, s.SMTPAddr, cat, support, compose(cat, support, "Website down", firstID, "Our site answers 502 since 10:00."))
	tk := d.waitTickets(t, 1)[0]
	if tk.Subject != "Website down" {
		t.Fatalf("ticket %+v", tk)
	}
	tag := fmt.Sprintf("[#%d]", tk.ID)
	// Its raw mail is kept: in the database, written with its inbound record, not in a file.
	rec, err := d.m.DB.Inbound(context.Background(), core.ChannelEmail, firstID)
	if err != nil {
		t.Fatalf("inbound record of the first mail: %v", err)
	}
	if raw := readBlob(t, d, rec.RawHash); !strings.Contains(raw, "Our site answers 502 since 10:00.") || !strings.Contains(raw, firstID) {
		t.Errorf("the kept raw mail is not the mail sent:\n%s", raw)
	}
	if _, err := os.Stat(filepath.Join(d.m.Config.Database.AttachmentsPath(), rec.RawHash[:2], rec.RawHash)); err == nil {
		t.Error("the raw mail of a small mail is a file")
	}

	// The confirmation arrives with [#N] and threading headers.
	conf := waitMail(t, s, "cat", tag)
	h := conf.header
	checks := map[string]bool{
		"subject":        h.Get("Subject") == tag+" Website down",
		"in-reply-to":    strings.Contains(h.Get("In-Reply-To"), "helpdeskd.ticket."),
		"references":     strings.Contains(h.Get("References"), "<"+firstID+">"),
		"reply-to token": strings.HasPrefix(h.Get("Reply-To"), "support+"+fmt.Sprint(tk.ID)+"-") || strings.Contains(h.Get("Reply-To"), "<support+"+fmt.Sprint(tk.ID)+"-"),
		"auto-submitted": h.Get("Auto-Submitted") == "auto-generated",
		"message-id":     strings.Contains(h.Get("Message-Id"), "helpdeskd.n"),
		"marker":         strings.Contains(conf.in.Text, gateway.ReplyMarker),
		"panel link":     strings.Contains(conf.in.Text, fmt.Sprintf("https://panel.helpdesk.test/support/%d", tk.ID)),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("confirmation %s wrong:\n%s", name, conf.raw)
		}
	}
	// Staff got the alert.
	waitMail(t, s, "staff", tag+" New ticket")

	// Replying to it with a real quoted history adds exactly the new text.
	rt, err := netmail.ParseAddress(h.Get("Reply-To"))
	if err != nil {
		t.Fatalf("Reply-To %q: %v", h.Get("Reply-To"), err)
	}
	confID := strings.Trim(h.Get("Message-Id"), "<>")
	imaptest.Deliver(t, s.SMTPAddr, cat, rt.Address, compose(cat, rt.Address, "Re: "+h.Get("Subject"), "r1-"+run+"@cat.helpdesk.test",
		quote("It is back now, but slow.", conf), "In-Reply-To: <"+confID+">", "References: "+bracket(firstID, confID)))
	got := d.waitMessages(t, tk.ID, 2)
	if m := got.Messages[1]; m.Message != "It is back now, but slow." || m.Author != "customer" || m.Channel != "email" {
		t.Fatalf("reply stored as %+v", m)
	}
	alert := waitMail(t, s, "staff", tag+" Customer reply")

	// A staff reply through the API reaches the customer.
	d.api(t, "POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", tk.ID), d.staffKey, map[string]any{"message": "We restarted the upstream; please check again."}, 201, nil)
	eventually(t, mailWait, func() error {
		for _, m := range imaptest.Read(t, s, "cat", "INBOX") {
			if in, err := mail.Parse(m.Raw, mail.Options{}); err == nil && strings.Contains(in.Text, "We restarted the upstream") {
				return nil
			}
		}
		return errors.New("staff reply not in the customer's mailbox")
	})

	// A staff member's reply by mail, to the reply address of their own alert, is a staff
	// reply (one to the customer's address would not be: see TestEmail_ForgedStaffMail).
	staff := s.Address("staff")
	own, err := netmail.ParseAddress(alert.header.Get("Reply-To"))
	if err != nil {
		t.Fatalf("alert Reply-To %q: %v", alert.header.Get("Reply-To"), err)
	}
	imaptest.Deliver(t, s.SMTPAddr, staff, own.Address, compose(staff, own.Address, "Re: "+h.Get("Subject"), "s1-"+run+"@staff.helpdesk.test", "Answered from my mail client."))
	got = d.waitMessages(t, tk.ID, 4)
	if m := got.Messages[3]; m.Author != "staff" || m.Message != "Answered from my mail client." {
		t.Fatalf("staff mail stored as %+v", m)
	}

	// A reply to a Resolved ticket reopens it.
	d.api(t, "POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", tk.ID), d.staffKey, map[string]any{"status": 2}, 200, nil)
	imaptest.Deliver(t, s.SMTPAddr, cat, support, compose(cat, support, "Re: "+tag+" Website down", "r2-"+run+"@cat.helpdesk.test", "Slow again."))
	got = d.waitMessages(t, tk.ID, 5)
	if got.Status != 0 {
		t.Fatalf("reply to Resolved left status %d", got.Status)
	}

	// One to a Closed ticket opens a follow-up and says so.
	d.api(t, "POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=1", tk.ID), d.catKey, nil, 200, nil)
	imaptest.Deliver(t, s.SMTPAddr, cat, support, compose(cat, support, "Re: "+tag+" Website down", "r3-"+run+"@cat.helpdesk.test", "Still slow!"))
	list := d.waitTickets(t, 2)
	follow := list[0]
	if follow.ID == tk.ID || len(d.ticket(t, tk.ID).Messages) != 5 {
		t.Fatalf("follow-up: %+v", list)
	}
	fconf := waitMail(t, s, "cat", fmt.Sprintf("[#%d]", follow.ID))
	if !strings.Contains(fconf.in.Text, fmt.Sprintf("Ticket #%d is closed", tk.ID)) {
		t.Fatalf("follow-up confirmation does not say so:\n%s", fconf.in.Text)
	}
}

func TestEmail_NoLoopsAndUnknownSenders(t *testing.T) {
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	d := startDesk(t, emailConfig(t, s, t.TempDir(), s.SMTPAddr))
	provisionMail(t, d, s)
	cat, support, mallory := s.Address("cat"), s.Address("support"), s.Address("mallory")
	run := fmt.Sprint(time.Now().UnixNano())

	imaptest.Deliver(t, s.SMTPAddr, cat, support, compose(cat, support, "Printer", "p-"+run+"@cat.helpdesk.test", "It prints nothing."))
	tk := d.waitTickets(t, 1)[0]
	tag := fmt.Sprintf("[#%d]", tk.ID)
	conf := waitMail(t, s, "cat", tag)
	confID := strings.Trim(conf.header.Get("Message-Id"), "<>")
	waitMail(t, s, "staff", tag)

	// An out-of-office answer to the confirmation.
	imaptest.Deliver(t, s.SMTPAddr, cat, support, compose(cat, support, "Automatic reply: "+conf.header.Get("Subject"), "ooo-"+run+"@cat.helpdesk.test",
		"I am out of the office until Monday.", "Auto-Submitted: auto-replied", "In-Reply-To: <"+confID+">", "X-Auto-Response-Suppress: All"))
	// A bounce of the confirmation.
	dsn := fmt.Sprintf("From: MAILER-DAEMON@mx.helpdesk.test\r\nTo: %s\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-%s@mx.helpdesk.test>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n"+
		"--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"+
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.helpdesk.test\r\n\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"+
		"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <%s>\r\nSubject: %s\r\n\r\n--b1--\r\n", support, run, cat, confID, conf.header.Get("Subject"))
	imaptest.Append(t, s, "support", "INBOX", []byte(dsn))
	// An unknown sender, twice.
	for i := 0; i < 2; i++ {
		imaptest.Deliver(t, s.SMTPAddr, mallory, support, compose(mallory, support, "Free money", fmt.Sprintf("m%d-%s@mallory.test", i, run), "Click here."))
	}

	// Wait until the four mails are processed and the dispatcher has decided whatever they
	// queued: the outbox then says what went out, whether or not Postfix has delivered it yet.
	imaptest.WaitFor(t, s, "support", "helpdesk/processed", 5, mailWait)
	waitMail(t, s, "mallory", "Your message to Helpdesk")
	d.waitOutboxEmpty(t)
	if out := d.decided(t, func(n core.Notification) bool { return n.TicketID == tk.ID }); len(out) != 2 {
		t.Errorf("%d notifications about the ticket, want the confirmation and the alert: %+v", len(out), out)
	}
	if out := d.decided(t, func(n core.Notification) bool { return n.Recipient == mallory }); len(out) != 1 {
		t.Errorf("%d notifications to mallory, want 1: %+v", len(out), out)
	}

	if n := len(d.ticket(t, tk.ID).Messages); n != 1 {
		t.Errorf("auto-reply was added to the ticket: %d messages", n)
	}
	if n := mailCount(t, s, "cat", tag); n != 1 {
		t.Errorf("cat got %d mails about the ticket, want only the confirmation", n)
	}
	if n := mailCount(t, s, "staff", tag); n != 1 {
		t.Errorf("staff got %d mails about the ticket, want only the alert", n)
	}
	if n := mailCount(t, s, "mallory", ""); n != 1 {
		t.Errorf("mallory got %d explanations, want 1", n)
	}
	var tickets []apiTicket
	d.api(t, "GET", "/api/Ticket?accountId=1", d.staffKey, nil, 200, &tickets)
	if len(tickets) != 1 {
		t.Errorf("%d tickets, want 1", len(tickets))
	}
	bounced, err := d.m.DB.Notifications(context.Background(), "bounced", 10)
	if err != nil || len(bounced) != 1 || bounced[0].MessageRef != confID {
		t.Errorf("bounced notifications: %v %+v", err, bounced)
	}
	rejected, err := d.m.DB.InboundByResult(context.Background(), "rejected", 10)
	if err != nil || len(rejected) != 2 || rejected[0].Sender != mallory {
		t.Errorf("rejected list: %v %+v", err, rejected)
	}
}

// proxy is a TCP proxy in front of Postfix that the test can cut and restore: stopping the
// system's Postfix would disturb other tests that share it, and to the daemon a refused
// connection is what a stopped server looks like. It is the in-process fault of this test.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		if !down {
			p.conns = append(p.conns, c)
		}
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		go func() {
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				return
			}
			go func() { io.Copy(u, c); u.Close() }()
			io.Copy(c, u)
			c.Close()
		}()
	}
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func TestEmail_SMTPDownNotificationsRetried(t *testing.T) {
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	px := newProxy(t, s.SMTPAddr)
	px.setDown(true)
	d := startDesk(t, emailConfig(t, s, t.TempDir(), px.ln.Addr().String()))
	provisionMail(t, d, s)
	run := fmt.Sprint(time.Now().UnixNano())
	var created struct {
		ID int64 `json:"id"`
	}
	d.api(t, "POST", "/api/Ticket?accountId=1", d.catKey, map[string]any{"subject": "Outage " + run, "description": "x"}, 201, &created)
	// Let a few attempts fail.
	eventually(t, mailWait, func() error {
		n, err := d.m.DB.Due(context.Background(), time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(n) == 2 && n[0].Attempts >= 2 && n[1].Attempts >= 2 {
			return nil
		}
		return fmt.Errorf("notifications not retried: %+v", n)
	})
	px.setDown(false)
	tag := fmt.Sprintf("[#%d]", created.ID)
	waitMail(t, s, "cat", tag+" Outage "+run)
	waitMail(t, s, "staff", tag+" New ticket")
}

// TestEmail_Kill9DuringIngest appends 200 mails to the support mailbox, kills the daemon
// with SIGKILL while it ingests them, restarts it, and checks that every mail is in exactly
// one ticket: none lost, none twice.
func TestEmail_Kill9DuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon as a child process; run without -short")
	}
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "helpdeskd.toml")
	toml := mailStackTOML(t, s, addr, filepath.Join(dir, "data", "helpdeskd.db"), "", "")
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"admin", "account", "put", "-config", cfgPath, "--id", "1", "--name", "Acme"},
		{"admin", "user", "put", "-config", cfgPath, "--id", "1", "--email", s.Address("cat"), "--name", "Cat", "--account", "1"},
		{"admin", "user", "put", "-config", cfgPath, "--id", "9", "--email", s.Address("staff"), "--name", "Staff", "--role", "staff"},
	} {
		if code, out, errOut := runCLI(t, nil, args...); code != 0 {
			t.Fatalf("%v: %s %s", args, out, errOut)
		}
	}
	_, keyOut, _ := runCLI(t, nil, "admin", "apikey", "create", "-config", cfgPath, "--user", "9")
	key := strings.TrimSpace(keyOut)

	const batch = 200
	run := fmt.Sprint(time.Now().UnixNano())
	raws := make([][]byte, batch)
	for i := range raws {
		raws[i] = compose(s.Address("cat"), s.Address("support"), fmt.Sprintf("batch %03d", i), fmt.Sprintf("b%d-%s@cat.helpdesk.test", i, run), "mail number "+fmt.Sprint(i))
	}
	// The whole batch waits in the mailbox before the daemon starts, so that it is killed
	// while ingesting, not while waiting for mail.
	imaptest.AppendAll(t, s, "support", "INBOX", raws)
	db := openRawDB(t, filepath.Join(dir, "data", "helpdeskd.db"))
	d := startDaemon(t, cfgPath, addr)
	// Kill it part-way through, twice: each time 25 more tickets are in.
	for kill := 0; kill < 2; kill++ {
		at := countTickets(t, db) + batch/8
		eventually(t, mailWait, func() error {
			if n := countTickets(t, db); n < at {
				return fmt.Errorf("ingest stalled at %d tickets, before %d; log:\n%s", n, at, d.logs)
			}
			return nil
		})
		d.cmd.Process.Kill()
		d.cmd.Wait()
		t.Logf("killed at %d tickets, %d of %d mails moved", countTickets(t, db), imaptest.Count(t, s, "support", "helpdesk/processed"), batch)
		d = startDaemon(t, cfgPath, addr)
	}
	imaptest.WaitFor(t, s, "support", "helpdesk/processed", batch, 2*mailWait)
	if n := imaptest.Count(t, s, "support", "INBOX"); n != 0 {
		t.Fatalf("%d mails left in INBOX", n)
	}
	subjects := map[string]int{}
	for _, subject := range listAll(t, d.base, key) {
		subjects[subject]++
	}
	for i := 0; i < batch; i++ {
		if n := subjects[fmt.Sprintf("batch %03d", i)]; n != 1 {
			t.Errorf("mail %d is in %d tickets", i, n)
		}
	}
	if len(subjects) != batch {
		t.Errorf("%d distinct tickets, want %d", len(subjects), batch)
	}
}

func countTickets(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM tickets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEmail_UnparseableMailIsKeptAndReprocessable: a mail that cannot be parsed goes to the
// failed mailbox, is listed, and `admin mail reprocess` puts it back in the queue.
func TestEmail_UnparseableMailIsKeptAndReprocessable(t *testing.T) {
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	cfg := emailConfig(t, s, t.TempDir(), s.SMTPAddr)
	d := startDesk(t, cfg)
	provisionMail(t, d, s)
	imaptest.Append(t, s, "support", "INBOX", []byte("Subject: who sent me?\r\nMessage-ID: <nofrom@x>\r\n\r\nno sender at all\r\n"))
	imaptest.WaitFor(t, s, "support", "helpdesk/failed", 1, mailWait)
	failed, err := d.m.DB.InboundByResult(context.Background(), "failed", 10)
	if err != nil || len(failed) != 1 || failed[0].Subject != "who sent me?" || failed[0].Reason == "" {
		t.Fatalf("failed list: %v %+v", err, failed)
	}
	d.stop() // reprocess while the daemon is down, then let it take the mail again
	var out, errOut bytes.Buffer
	if err := reprocessMail(context.Background(), cfg, &out, &errOut); err != nil || !strings.Contains(out.String(), "1 mails moved") {
		t.Fatalf("reprocess: %v %q %q", err, out.String(), errOut.String())
	}
	if n := imaptest.Count(t, s, "support", "INBOX"); n != 1 {
		t.Fatalf("%d mails back in INBOX", n)
	}
	d = startDesk(t, cfg)
	imaptest.WaitFor(t, s, "support", "helpdesk/failed", 1, mailWait)
	if failed, err := d.m.DB.InboundByResult(context.Background(), "failed", 10); err != nil || len(failed) != 1 {
		t.Fatalf("after reprocessing, failed list: %v %+v (the same mail must be listed once)", err, failed)
	}
}

// TestEmail_HostileMailThroughTheDaemon sends a decompression bomb, a 1,000-part mail and a
// reply with a forged ticket tag through the whole daemon: IMAP, parsing, pipeline, store.
func TestEmail_HostileMailThroughTheDaemon(t *testing.T) {
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	d := startDesk(t, emailConfig(t, s, t.TempDir(), s.SMTPAddr))
	provisionMail(t, d, s)
	cat, dan, support := s.Address("cat"), s.Address("dan"), s.Address("support")
	run := fmt.Sprint(time.Now().UnixNano())

	imaptest.Deliver(t, s.SMTPAddr, cat, support, compose(cat, support, "Cat's own ticket", "own-"+run+"@cat.helpdesk.test", "private"))
	own := d.waitTickets(t, 1)[0]

	// 30 MB of zeros, base64: far over the 10 MB attachment limit.
	var bomb bytes.Buffer
	fmt.Fprintf(&bomb, "From: %s\r\nTo: %s\r\nSubject: Bomb\r\nMessage-ID: <bomb-%s@cat.helpdesk.test>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"+
		"--b\r\nContent-Type: application/octet-stream; name=zeros.bin\r\nContent-Disposition: attachment; filename=zeros.bin\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n", cat, support, run)
	line := strings.Repeat("A", 76) + "\r\n" // 57 zero bytes a line
	for n := 0; n < 30<<20; n += 57 {
		bomb.WriteString(line)
	}
	bomb.WriteString("--b--\r\n")
	// 1,000 parts.
	var parts bytes.Buffer
	fmt.Fprintf(&parts, "From: %s\r\nTo: %s\r\nSubject: Thousand parts\r\nMessage-ID: <parts-%s@cat.helpdesk.test>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=p\r\n\r\n--p\r\nContent-Type: text/plain\r\n\r\nmany files\r\n", cat, support, run)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&parts, "--p\r\nContent-Type: text/plain; name=f%d.txt\r\nContent-Disposition: attachment; filename=f%d.txt\r\n\r\nfile %d\r\n", i, i, i)
	}
	parts.WriteString("--p--\r\n")
	// Dan names Cat's ticket.
	spoof := compose(dan, support, fmt.Sprintf("Re: [#%d] Cat's own ticket", own.ID), "spoof-"+run+"@dan.helpdesk.test", "let me in",
		"In-Reply-To: <"+gateway.ThreadRoot(own.ID, "helpdesk.test")+">")

	imaptest.AppendAll(t, s, "support", "INBOX", [][]byte{bomb.Bytes(), parts.Bytes(), spoof})
	imaptest.WaitFor(t, s, "support", "helpdesk/processed", 4, 2*mailWait)

	var tickets []apiTicket
	d.api(t, "GET", "/api/Ticket?accountId=1&pageSize=100", d.staffKey, nil, 200, &tickets)
	bySubject := map[string]int64{}
	for _, tk := range tickets {
		bySubject[tk.Subject] = tk.ID
	}
	var detail struct {
		Messages []struct {
			Message     string `json:"message"`
			Attachments []struct {
				FileName string `json:"fileName"`
			} `json:"attachments"`
		} `json:"messages"`
	}
	d.api(t, "GET", fmt.Sprintf("/api/Ticket/%d?accountId=1", bySubject["Bomb"]), d.staffKey, nil, 200, &detail)
	if len(detail.Messages) != 1 || len(detail.Messages[0].Attachments) != 0 || !strings.Contains(detail.Messages[0].Message, `"zeros.bin"`) {
		t.Errorf("bomb ticket: %+v", detail)
	}
	d.api(t, "GET", fmt.Sprintf("/api/Ticket/%d?accountId=1", bySubject["Thousand parts"]), d.staffKey, nil, 200, &detail)
	if len(detail.Messages) != 1 || len(detail.Messages[0].Attachments) == 0 || len(detail.Messages[0].Attachments) >= 1000 {
		t.Errorf("1,000-part ticket kept %d attachments, want some but fewer than all (the part limit)", len(detail.Messages[0].Attachments))
	}
	if n := len(d.ticket(t, own.ID).Messages); n != 1 {
		t.Errorf("the forged reply reached Cat's ticket: %d messages", n)
	}
	var dans []apiTicket
	d.api(t, "GET", "/api/Ticket?accountId=2", d.staffKey, nil, 200, &dans)
	if len(dans) != 1 || !strings.Contains(dans[0].Subject, "Cat's own ticket") {
		t.Errorf("Dan's mail did not open a ticket of his own: %+v", dans)
	}
}

// mailStackTOML is a configuration file for a daemon on the mail stack: serverExtra goes into
// [server], tail after the mail sections.
func mailStackTOML(t testing.TB, s imaptest.Server, listen, dbPath, serverExtra, tail string) string {
	host, port, _ := net.SplitHostPort(s.SMTPAddr)
	return fmt.Sprintf(`[server]
listen = %q
%s
[database]
%s[email]
enabled = true
address = %q
secret = %q
[email.imap]
host = %q
port = %d
security = "none"
username = "support"
password = %q
poll_interval = "1s"
[email.smtp]
host = %q
port = %s
security = "none"
%s`, listen, serverExtra, databaseTOML(t, dbPath), s.Address("support"), e2eSecret, s.Host(), s.Port(), imaptest.Password("support"), host, port, tail)
}

// TestEmail_IMAPUnreachableMidRun cuts the daemon's IMAP connection (a proxy in front of
// Dovecot, the in-process fault of this test: other tests share the server) while mail
// arrives, and restores it: every mail becomes a ticket once, none is lost.
func TestEmail_IMAPUnreachableMidRun(t *testing.T) {
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	px := newProxy(t, s.IMAPAddr)
	cfg := emailConfig(t, s, t.TempDir(), s.SMTPAddr)
	host, port, _ := net.SplitHostPort(px.ln.Addr().String())
	cfg.Email.IMAP.Host = host
	fmt.Sscan(port, &cfg.Email.IMAP.Port)
	d := startDesk(t, cfg)
	provisionMail(t, d, s)
	cat, support := s.Address("cat"), s.Address("support")
	run := fmt.Sprint(time.Now().UnixNano())

	imaptest.Append(t, s, "support", "INBOX", compose(cat, support, "Before the cut", "before-"+run+"@cat.helpdesk.test", "one"))
	d.waitTickets(t, 1)
	px.setDown(true)
	for i := 0; i < 3; i++ {
		imaptest.Append(t, s, "support", "INBOX", compose(cat, support, fmt.Sprint("During the cut ", i), fmt.Sprintf("during-%d-%s@cat.helpdesk.test", i, run), "two"))
	}
	eventually(t, mailWait, func() error {
		if d.m.Poller.Connected() {
			return errors.New("the poller did not notice the cut")
		}
		return nil
	})
	px.setDown(false)
	list := d.waitTickets(t, 4)
	seen := map[string]int{}
	for _, tk := range list {
		seen[tk.Subject]++
	}
	for _, subject := range []string{"Before the cut", "During the cut 0", "During the cut 1", "During the cut 2"} {
		if seen[subject] != 1 {
			t.Errorf("%q is in %d tickets", subject, seen[subject])
		}
	}
}

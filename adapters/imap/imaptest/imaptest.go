// Package imaptest helps tests use the real mail stack that scripts/mailstack.sh starts
// (Dovecot for IMAP and LMTP, Postfix for SMTP, on loopback): it finds the servers from the
// environment or skips the test, delivers mail through Postfix, appends and reads back mail
// over IMAP, and empties mailboxes.
//
// The users are support, ann, bob, cat, dan, staff, staff2, eve and mallory, each with the
// password "<name>-pass", in the domain HELPDESKD_TEST_MAIL_DOMAIN (helpdesk.test). The
// server is shared by every test of every package that runs at the same time, so a test
// works in mailboxes of its own (see Mailbox) or in a user's INBOX no other package reads.
// It knows nothing of helpdeskd.
package imaptest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Environment variables written by scripts/mailstack.sh into DIR/env.
const (
	EnvIMAPAddr = "HELPDESKD_TEST_IMAP_ADDR"
	EnvSMTPAddr = "HELPDESKD_TEST_SMTP_ADDR"
	EnvLMTPAddr = "HELPDESKD_TEST_LMTP_ADDR"
	EnvDomain   = "HELPDESKD_TEST_MAIL_DOMAIN"
	EnvDir      = "HELPDESKD_TEST_MAIL_DIR"
)

// SkipMessage is why a test skips when no mail stack is running.
const SkipMessage = "no IMAP server: run ./scripts/test.sh, or scripts/mailstack.sh start DIR and source DIR/env"

// ioTimeout bounds each helper's conversation with a server.
const ioTimeout = 30 * time.Second

// Server is the running mail stack.
type Server struct {
	IMAPAddr string // host:port of Dovecot's IMAP (no TLS)
	SMTPAddr string // host:port of Postfix's SMTP; empty when not running
	LMTPAddr string // host:port of Dovecot's LMTP; empty when not known
	Domain   string // the mail domain, helpdesk.test
	Dir      string // the stack's directory
}

// Env returns the running mail stack, or skips the test when HELPDESKD_TEST_IMAP_ADDR is unset.
func Env(tb testing.TB) Server {
	tb.Helper()
	s := Server{
		IMAPAddr: os.Getenv(EnvIMAPAddr),
		SMTPAddr: os.Getenv(EnvSMTPAddr),
		LMTPAddr: os.Getenv(EnvLMTPAddr),
		Domain:   os.Getenv(EnvDomain),
		Dir:      os.Getenv(EnvDir),
	}
	if s.IMAPAddr == "" {
		tb.Skip(SkipMessage)
	}
	if s.Domain == "" {
		s.Domain = "helpdesk.test"
	}
	return s
}

// Host and Port split IMAPAddr.
func (s Server) Host() string {
	h, _, _ := net.SplitHostPort(s.IMAPAddr)
	return h
}

// Port is the IMAP port.
func (s Server) Port() int {
	_, p, _ := net.SplitHostPort(s.IMAPAddr)
	n, _ := strconv.Atoi(p)
	return n
}

// Address returns user@domain.
func (s Server) Address(user string) string { return user + "@" + s.Domain }

// Password returns the test password of a user.
func Password(user string) string { return user + "-pass" }

// Mailbox returns a mailbox name of the test's own, "test-<name>-<random>", and deletes it
// (with the mailboxes below it) for user when the test ends.
func Mailbox(tb testing.TB, s Server, user string) string {
	tb.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(tb.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	box := "test-" + name + "-" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		c, err := dial(s, user)
		if err != nil {
			tb.Logf("imaptest: cleanup %s: %v", box, err)
			return
		}
		defer c.Close()
		list, err := c.List("", box+"*", nil).Collect()
		if err != nil {
			tb.Logf("imaptest: cleanup %s: %v", box, err)
			return
		}
		if err := deleteMailboxes(c, list); err != nil {
			tb.Logf("imaptest: cleanup %s: %v", box, err)
		}
	})
	return box
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// Client returns a logged-in IMAP client for user, closed when the test ends.
func Client(tb testing.TB, s Server, user string) *imapclient.Client {
	tb.Helper()
	c, err := dial(s, user)
	if err != nil {
		tb.Fatalf("imaptest: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func dial(s Server, user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(s.IMAPAddr, &imapclient.Options{Dialer: &net.Dialer{Timeout: ioTimeout}})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", s.IMAPAddr, err)
	}
	if err := c.Login(user, Password(user)).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	return c, nil
}

// Deliver sends raw from → to through the SMTP server at smtpAddr (Postfix), which hands it
// to Dovecot; it skips the test when smtpAddr is empty.
func Deliver(tb testing.TB, smtpAddr, from, to string, raw []byte) {
	tb.Helper()
	if smtpAddr == "" {
		tb.Skip("no SMTP server: run ./scripts/test.sh, or scripts/mailstack.sh start DIR and source DIR/env")
	}
	if err := deliver(smtpAddr, from, to, raw); err != nil {
		tb.Fatalf("imaptest: deliver to %s via %s: %v", to, smtpAddr, err)
	}
}

func deliver(addr, from, to string, raw []byte) error {
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	if err := c.Hello("imaptest.localhost"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Append stores raw in user's mailbox over IMAP, creating the mailbox when missing, and
// returns its UID.
func Append(tb testing.TB, s Server, user, mailbox string, raw []byte) uint32 {
	tb.Helper()
	c, err := dial(s, user)
	if err != nil {
		tb.Fatalf("imaptest: %v", err)
	}
	defer c.Close()
	uid, err := appendTo(c, mailbox, raw)
	if err != nil {
		tb.Fatalf("imaptest: append to %s of %s: %v", mailbox, user, err)
	}
	return uid
}

// AppendAll stores the raws in order in user's mailbox over one connection; see Append.
func AppendAll(tb testing.TB, s Server, user, mailbox string, raws [][]byte) []uint32 {
	tb.Helper()
	c, err := dial(s, user)
	if err != nil {
		tb.Fatalf("imaptest: %v", err)
	}
	defer c.Close()
	uids := make([]uint32, 0, len(raws))
	for _, raw := range raws {
		uid, err := appendTo(c, mailbox, raw)
		if err != nil {
			tb.Fatalf("imaptest: append to %s of %s: %v", mailbox, user, err)
		}
		uids = append(uids, uid)
	}
	return uids
}

func appendTo(c *imapclient.Client, mailbox string, raw []byte) (uint32, error) {
	if err := create(c, mailbox); err != nil {
		return 0, err
	}
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		return 0, err
	}
	if err := cmd.Close(); err != nil {
		return 0, err
	}
	data, err := cmd.Wait()
	if err != nil {
		return 0, err
	}
	return uint32(data.UID), nil
}

// create makes mailbox unless it exists. A poller under test creates its mailboxes too, so
// a CREATE that loses that race is fine once the mailbox is there.
func create(c *imapclient.Client, mailbox string) error {
	ok, err := exists(c, mailbox)
	if err != nil || ok {
		return err
	}
	if err := c.Create(mailbox, nil).Wait(); err != nil {
		if ok, lerr := exists(c, mailbox); lerr == nil && ok {
			return nil
		}
		return err
	}
	return nil
}

// exists asks STATUS, not LIST: Dovecot lists a parent left behind by a deleted mailbox as
// if it were one.
func exists(c *imapclient.Client, mailbox string) (bool, error) {
	_, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	var imapErr *imap.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &imapErr) && imapErr.Type == imap.StatusResponseTypeNo:
		return false, nil
	}
	return false, err
}

// Count returns the number of messages in user's mailbox, 0 when it does not exist.
func Count(tb testing.TB, s Server, user, mailbox string) int {
	tb.Helper()
	c, err := dial(s, user)
	if err != nil {
		tb.Fatalf("imaptest: %v", err)
	}
	defer c.Close()
	n, err := count(c, mailbox)
	if err != nil {
		tb.Fatalf("imaptest: count %s of %s: %v", mailbox, user, err)
	}
	return n
}

// Counter counts a mailbox's messages over one connection kept open: a loop that asks
// every few milliseconds would otherwise make the server log a user in each time, work on
// the same cores as what the loop measures.
type Counter struct {
	tb      testing.TB
	c       *imapclient.Client
	mailbox string
}

// NewCounter returns a Counter of user's mailbox, its connection closed when the test ends.
func NewCounter(tb testing.TB, s Server, user, mailbox string) *Counter {
	tb.Helper()
	return &Counter{tb: tb, c: Client(tb, s, user), mailbox: mailbox}
}

// Count returns the number of messages in the mailbox now.
func (k *Counter) Count() int {
	k.tb.Helper()
	n, err := count(k.c, k.mailbox)
	if err != nil {
		k.tb.Fatalf("imaptest: count %s: %v", k.mailbox, err)
	}
	return n
}

func count(c *imapclient.Client, mailbox string) (int, error) {
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	var imapErr *imap.Error
	switch {
	case errors.As(err, &imapErr) && imapErr.Type == imap.StatusResponseTypeNo:
		return 0, nil // no such mailbox
	case err != nil:
		return 0, err
	}
	return int(*st.NumMessages), nil
}

// Exists reports whether user has the mailbox.
func Exists(tb testing.TB, s Server, user, mailbox string) bool {
	tb.Helper()
	c, err := dial(s, user)
	if err != nil {
		tb.Fatalf("imaptest: %v", err)
	}
	defer c.Close()
	ok, err := exists(c, mailbox)
	if err != nil {
		tb.Fatalf("imaptest: status of %s of %s: %v", mailbox, user, err)
	}
	return ok
}

// Message is a mail read back by Read.
type Message struct {
	UID   uint32
	Flags []imap.Flag
	Raw   []byte
}

// Seen reports whether the message has the \Seen flag.
func (m Message) Seen() bool { return slices.Contains(m.Flags, imap.FlagSeen) }

// Read returns the messages of user's mailbox in UID order, without marking them \Seen.
func Read(tb testing.TB, s Server, user, mailbox string) []Message {
	tb.Helper()
	c, err := dial(s, user)
	if err != nil {
		tb.Fatalf("imaptest: %v", err)
	}
	defer c.Close()
	msgs, err := read(c, mailbox)
	if err != nil {
		tb.Fatalf("imaptest: read %s of %s: %v", mailbox, user, err)
	}
	return msgs
}

func read(c *imapclient.Client, mailbox string) ([]Message, error) {
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, err
	}
	defer func() { _ = c.Unselect().Wait() }()
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, err
	}
	msgs := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		msgs = append(msgs, Message{UID: uint32(b.UID), Flags: b.Flags, Raw: b.FindBodySection(section)})
	}
	slices.SortFunc(msgs, func(a, b Message) int { return int(int64(a.UID) - int64(b.UID)) })
	return msgs, nil
}

// WaitFor waits until user's mailbox holds at least n messages and returns them all (raw, in
// UID order). It polls; after timeout it fails the test with what it found. The timeout is a
// bound for a broken set-up, not a speed assertion.
func WaitFor(tb testing.TB, s Server, user, mailbox string, n int, timeout time.Duration) [][]byte {
	tb.Helper()
	msgs := WaitForMessages(tb, s, user, mailbox, n, timeout)
	raws := make([][]byte, len(msgs))
	for i, m := range msgs {
		raws[i] = m.Raw
	}
	return raws
}

// WaitForMessages is WaitFor returning the messages with their UIDs and flags.
func WaitForMessages(tb testing.TB, s Server, user, mailbox string, n int, timeout time.Duration) []Message {
	tb.Helper()
	c, err := dial(s, user)
	if err != nil {
		tb.Fatalf("imaptest: %v", err)
	}
	defer c.Close()
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		got, err := count(c, mailbox)
		if err != nil {
			tb.Fatalf("imaptest: count %s of %s: %v", mailbox, user, err)
		}
		if got >= n {
			msgs, err := read(c, mailbox)
			if err != nil {
				tb.Fatalf("imaptest: read %s of %s: %v", mailbox, user, err)
			}
			return msgs
		}
		last = got
		if time.Now().After(deadline) {
			tb.Fatalf("imaptest: %s of %s holds %d messages after %s, want %d", mailbox, user, last, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Clear deletes every mailbox of user but INBOX and empties INBOX.
func Clear(tb testing.TB, s Server, user string) {
	tb.Helper()
	c, err := dial(s, user)
	if err != nil {
		tb.Fatalf("imaptest: %v", err)
	}
	defer c.Close()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		tb.Fatalf("imaptest: list mailboxes of %s: %v", user, err)
	}
	if err := deleteMailboxes(c, list); err != nil {
		tb.Fatalf("imaptest: clear %s: %v", user, err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		tb.Fatalf("imaptest: select INBOX of %s: %v", user, err)
	}
	all := imap.UIDSet{{Start: 1, Stop: 0}}
	if err := c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		tb.Fatalf("imaptest: clear INBOX of %s: %v", user, err)
	}
	if err := c.Expunge().Close(); err != nil {
		tb.Fatalf("imaptest: expunge INBOX of %s: %v", user, err)
	}
}

// deleteMailboxes deletes the listed mailboxes but INBOX, children first.
func deleteMailboxes(c *imapclient.Client, list []*imap.ListData) error {
	slices.SortFunc(list, func(a, b *imap.ListData) int { return len(b.Mailbox) - len(a.Mailbox) })
	var errs []error
	for _, l := range list {
		if strings.EqualFold(l.Mailbox, "INBOX") {
			continue
		}
		err := c.Delete(l.Mailbox).Wait()
		var imapErr *imap.Error
		if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeNonExistent {
			continue // a parent that was only a name (box in box/processed)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", l.Mailbox, err))
		}
	}
	return errors.Join(errs...)
}

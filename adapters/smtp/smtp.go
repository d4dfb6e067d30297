// Package smtp sends the email notifications: it is the gateway's Sender for the email
// channel, over github.com/wneessen/go-mail. It turns a gateway.Outgoing into a mail with
// helpdeskd's own Message-ID, the thread headers (In-Reply-To, References), a Reply-To with
// the ticket's reply token, Auto-Submitted and X-Auto-Response-Suppress so that robots do
// not answer, plain text and an optional HTML alternative; it keeps its connections (a few,
// each carrying one mail at a time) open between sends, checks with a NOOP only those idle
// for a while, pipelines each mail's commands where the server offers it (go-mail connects,
// says EHLO, STARTTLS and AUTH; the transaction is transaction.go's), and says which
// failures are permanent (a 5xx reply) and which are worth retrying (4xx, connection
// trouble).
//
// It knows nothing of tickets, templates or the outbox: what to send is the gateway's
// business, when to retry the dispatcher's.
package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	hdmail "github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/gateway"
)

var _ gateway.Sender = (*Sender)(nil)

// Security modes of Options.Security.
const (
	SecurityTLS      = "tls"      // implicit TLS (RFC 8314), port 465 by default
	SecurityStartTLS = "starttls" // STARTTLS required (RFC 3207), port 587 by default
	SecurityNone     = "none"     // no TLS: for a relay on loopback, port 25 by default
)

// DefaultTimeout bounds the connect and each SMTP command when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// recentUse is how long after a send a kept connection is used without asking the server
// first (NOOP) whether it is still there: a server's idle timeout is minutes, and under
// load the NOOP was one round trip in six. A connection that died all the same fails at
// MAIL, before anything is delivered, and the mail goes once more on a new one.
const recentUse = time.Second

// maxMessageIDBytes bounds a message ID put in a header (RFC 5322 §2.1.1 line length).
const maxMessageIDBytes = 998

// userAgent names the software in User-Agent and X-Mailer.
const userAgent = "helpdeskd"

// Options configure the SMTP connection and the sender.
type Options struct {
	Host string
	// Port; zero means 465 for tls, 587 for starttls and 25 for none.
	Port int
	// Security is tls, starttls or none; empty means starttls.
	Security string
	// Username and Password log in (SMTP AUTH) when Username is set. Over a connection
	// without TLS a password goes in clear only to a loopback host.
	Username, Password string
	// From is the support address, the envelope sender (bounces come back to it) and the
	// From header with FromName.
	From     string
	FromName string
	// HeloName is the EHLO name; empty means the machine's host name.
	HeloName string
	// Timeout bounds the connect and each command; zero means DefaultTimeout.
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (a private CA, say); nil verifies Host with the
	// system roots and TLS 1.2 at least.
	TLSConfig *tls.Config
	// ThreadSecret signs the Thread-Index of a ticket's mails (mail.ThreadIndex), so that an
	// Outlook reply that drops In-Reply-To still finds its ticket; nil sends none.
	ThreadSecret []byte
	// Connections is how many connections are kept and used at once (default 1): each
	// carries one mail at a time, so a slow server's answer to one holds up no other.
	Connections int
	Logger      *slog.Logger
}

// Sender delivers notifications over SMTP. It keeps Options.Connections connections
// between sends and reconnects one when it breaks; each carries one send at a time. It is
// safe for concurrent use.
type Sender struct {
	opts   Options
	client *gomail.Client
	log    *slog.Logger
	from   *mail.Address

	// idle holds the connection slots not in use; a send takes one and gives it back.
	idle chan *slot
}

// slot is one kept connection.
type slot struct {
	conn *gosmtp.Client // nil until its first send and after a broken one
	used time.Time      // when conn last finished a send
}

// New checks the options and prepares a Sender; it does not connect yet.
func New(opts Options) (*Sender, error) {
	if strings.TrimSpace(opts.Host) == "" {
		return nil, errors.New("smtp: no host")
	}
	from, err := mail.ParseAddress(opts.From)
	if err != nil || from.Name != "" || opts.From != from.Address {
		return nil, fmt.Errorf("smtp: from address %q is not a plain address", opts.From)
	}
	from.Name = oneLine(opts.FromName)
	if opts.Security == "" {
		opts.Security = SecurityStartTLS
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Connections <= 0 {
		opts.Connections = 1
	}
	if opts.Port == 0 {
		opts.Port = map[string]int{SecurityTLS: 465, SecurityStartTLS: 587, SecurityNone: 25}[opts.Security]
	}
	tlsConfig := opts.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: opts.Host, MinVersion: tls.VersionTLS12}
	}
	copts := []gomail.Option{
		gomail.WithPort(opts.Port),
		gomail.WithTimeout(opts.Timeout),
		gomail.WithTLSConfig(tlsConfig),
	}
	switch opts.Security {
	case SecurityTLS:
		copts = append(copts, gomail.WithSSL())
	case SecurityStartTLS:
		copts = append(copts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case SecurityNone:
		copts = append(copts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("smtp: security %q is not tls, starttls or none", opts.Security)
	}
	if opts.HeloName != "" {
		copts = append(copts, gomail.WithHELO(opts.HeloName))
	}
	if opts.Username != "" {
		copts = append(copts, gomail.WithUsername(opts.Username), gomail.WithPassword(opts.Password))
		switch {
		case opts.Security != SecurityNone:
			copts = append(copts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
		case isLoopback(opts.Host):
			copts = append(copts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc))
		default:
			// No TLS and not loopback: only mechanisms that do not send the password.
			copts = append(copts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
		}
	}
	client, err := gomail.NewClient(opts.Host, copts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sender{opts: opts, client: client, log: log, from: from, idle: make(chan *slot, opts.Connections)}
	for range opts.Connections {
		s.idle <- &slot{}
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers one notification. A 5xx reply to the recipient or the message is a
// gateway.PermanentError; a 4xx reply or a connection failure is a plain error, for the
// dispatcher to retry. ctx bounds the connect; the transaction is bounded by
// Options.Timeout.
func (s *Sender) Send(ctx context.Context, out gateway.Outgoing) error {
	msg, to, err := s.message(out)
	if err != nil {
		return gateway.Permanent(fmt.Errorf("mail notification %d: %w", out.NotificationID, err))
	}
	var c *slot
	select {
	case c = <-s.idle:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { s.idle <- c }()
	// At most twice: a kept connection found dead before it carried anything is replaced
	// once by a new one, which is not.
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		reused := c.conn != nil
		if !reused {
			conn, err := s.client.DialToSMTPClientWithContext(ctx)
			if err != nil {
				return fmt.Errorf("connect to %s: %w", s.client.ServerAddr(), err)
			}
			c.conn = conn
			s.log.Debug("smtp connected", "server", s.client.ServerAddr())
		}
		if reused && time.Since(c.used) >= recentUse {
			if err := c.conn.Noop(); err != nil {
				c.drop()
				s.log.Debug("smtp connection went stale, reconnecting", "server", s.client.ServerAddr())
				continue
			}
		}
		err := c.conn.UpdateDeadline(s.opts.Timeout)
		if err == nil {
			err = transaction(c.conn, s.from.Address, to, msg)
		} else {
			err = &brokenError{step: "MAIL", beforeReply: true, err: err}
		}
		c.used = time.Now()
		if err == nil {
			return nil
		}
		var broken *brokenError
		if errors.As(err, &broken) {
			c.drop()
			if reused && broken.beforeReply {
				// The kept connection died while idle (the server's timeout), found by a
				// MAIL without a reply: nothing went, so once more on a new one.
				s.log.Debug("smtp connection went stale, reconnecting", "server", s.client.ServerAddr())
				continue
			}
			return fmt.Errorf("send notification %d to %s: %w", out.NotificationID, out.To, err)
		}
		refused := err.(*replyError)
		err = fmt.Errorf("send notification %d to %s: %w", out.NotificationID, out.To, err)
		switch code := refused.reply.Code; {
		case code == 421:
			// The server is closing the connection (RFC 5321 §3.8).
			c.drop()
			return err
		case code >= 500 && code < 600 && code != 530:
			// 530: authentication required, a configuration fault, not the message's.
			return gateway.Permanent(err)
		default:
			return err
		}
	}
}

// drop forgets the connection, closing it without waiting for the server.
func (c *slot) drop() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// Close says QUIT on the kept connections, waiting for the sends in progress. The Sender
// can still send afterwards: it connects again.
func (s *Sender) Close() error {
	var errs []error
	slots := make([]*slot, 0, s.opts.Connections)
	for range s.opts.Connections {
		c := <-s.idle
		slots = append(slots, c)
		if c.conn != nil {
			errs = append(errs, s.client.CloseWithSMTPClient(c.conn))
			c.drop()
		}
	}
	for _, c := range slots {
		s.idle <- c
	}
	return errors.Join(errs...)
}

// Render returns out as the mail Send would transmit (the Date aside), for tests and for
// keeping a copy.
func (s *Sender) Render(out gateway.Outgoing) ([]byte, error) {
	msg, _, err := s.message(out)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// message builds the mail of a notification and returns it with its envelope recipient.
// Every value that reaches a header is put on one line, so that nothing in a subject or a
// name can add a header.
func (s *Sender) message(out gateway.Outgoing) (*gomail.Msg, string, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.SetUserAgent(userAgent)
	msg.FromMailAddress(s.from)
	to, err := mail.ParseAddress(strings.TrimSpace(out.To))
	if err != nil || strings.ContainsAny(to.Address, "\r\n<>") {
		return nil, "", fmt.Errorf("recipient %q: not an address", out.To)
	}
	msg.ToMailAddress(to)
	if out.ReplyTo != "" {
		if err := msg.ReplyTo(strings.TrimSpace(out.ReplyTo)); err != nil {
			return nil, "", fmt.Errorf("reply-to %q: %w", out.ReplyTo, err)
		}
	}
	msg.Subject(oneLine(out.Subject))
	id := out.MessageID
	if !validMsgID(id) {
		id = newMessageID(s.from.Address)
	}
	msg.SetMessageIDWithValue(id)
	if validMsgID(out.InReplyTo) {
		msg.SetGenHeader(gomail.HeaderInReplyTo, "<"+out.InReplyTo+">")
	}
	var refs []string
	for _, r := range out.References {
		if validMsgID(r) {
			refs = append(refs, "<"+r+">")
		}
	}
	if len(refs) > 0 {
		msg.SetGenHeader(gomail.HeaderReferences, strings.Join(refs, " "))
	}
	if ti := hdmail.ThreadIndex(s.opts.ThreadSecret, out.TicketID); ti != "" {
		msg.SetGenHeader(gomail.Header("Thread-Index"), ti)
		msg.SetGenHeader(gomail.Header("Thread-Topic"), oneLine(gateway.CleanSubject(out.Subject)))
	}
	// RFC 3834 §5: a robot's mail says so; Outlook and Exchange read the other.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), autoSubmitted(out.AutoSubmitted))
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, out.Text)
	if out.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, out.HTML)
	}
	return msg, to.Address, nil
}

// autoSubmitted returns the Auto-Submitted value: out's when it is a keyword (RFC 3834
// §5.1: auto-generated, auto-replied, or an extension), else auto-generated.
func autoSubmitted(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" || v == "no" || strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	}) >= 0 {
		return "auto-generated"
	}
	return v
}

// oneLine folds line breaks and other control characters into spaces.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}), " ")
}

// validMsgID reports a message ID (without brackets) that can go in a header as it is.
func validMsgID(id string) bool {
	if id == "" || len(id) > maxMessageIDBytes || !strings.Contains(id, "@") {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == '"' || r == '\\' || r == '(' || r == ')' || r == ',' {
			return false
		}
	}
	return true
}

// newMessageID makes a Message-ID in the domain of the support address, for an Outgoing
// that carries none.
func newMessageID(from string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	_, domain, _ := strings.Cut(from, "@")
	return "helpdeskd." + strconv.FormatInt(time.Now().UnixNano(), 36) + "." + hex.EncodeToString(b) + "@" + domain
}

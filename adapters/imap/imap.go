// Package imap is helpdeskd's inbound mailbox: an IMAP client (go-imap v2) that watches one
// mailbox with IDLE or polling, hands each mail whole to a Handler, and only after the handler
// returned — after the database commit — marks the mail \Seen and moves it to the processed or
// the failed mailbox, so a crash at any point loses nothing (a mail handled twice is the
// handler's dedupe's business).
//
// It works by UID only, never by sequence number, reconnects with jittered exponential
// backoff, and tracks UIDVALIDITY. It knows nothing of tickets, MIME or the database: the
// Handler (the gateway's side) decides what a mail means.
package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Defaults of Options.
const (
	DefaultMailbox          = "INBOX"
	DefaultProcessedMailbox = "helpdesk/processed"
	DefaultFailedMailbox    = "helpdesk/failed"
	DefaultPollInterval     = 30 * time.Second
	DefaultMaxMessageBytes  = 50 << 20 // 50 MiB
)

// Security values of Options.Security.
const (
	SecurityTLS      = "tls"
	SecurityStartTLS = "starttls"
	SecurityNone     = "none"
)

// Limits and timings of the client.
const (
	// fetchChunk is how many mails one FETCH asks for, so a thousand waiting mails take a few
	// dozen round trips, not a thousand, and never one giant response.
	fetchChunk = 50
	// batchBytes bounds the raw mails fetched at once (at least one mail is), to be handled
	// while they wait in their temporary files.
	batchBytes = 32 << 20
	// moveChunk is how many UIDs one MOVE of Reprocess names.
	moveChunk = 500
	// idleRestart re-issues IDLE before servers drop it (RFC 2177: after 30 minutes at most).
	idleRestart = 25 * time.Minute
	// minBackoff and maxBackoff bound the wait before a reconnect or a retry.
	minBackoff = time.Second
	maxBackoff = 2 * time.Minute
	// stableSession is how long a session must have lasted for the reconnect backoff to
	// start again from minBackoff.
	stableSession = time.Minute
	// dialTimeout bounds connecting, TLS and the greeting.
	dialTimeout = 30 * time.Second
	// commandTimeout bounds one command's answer; fetchTimeout one FETCH of a batch of bodies.
	// The client closes the connection when they pass, and the poller reconnects.
	commandTimeout = 2 * time.Minute
	fetchTimeout   = 10 * time.Minute
)

// Options configures a Poller. The zero value of a field means its default.
type Options struct {
	Host     string
	Port     int
	Security string // "tls" (default) | "starttls" | "none"
	Username string
	Password string
	// Mailbox is watched; ProcessedMailbox and FailedMailbox receive the mails once handled.
	// A "/" in the names is the hierarchy separator: it is replaced by the server's own
	// delimiter when that is another one (e.g. "."). Missing mailboxes are created.
	Mailbox, ProcessedMailbox, FailedMailbox string
	// IDLE is used when the server advertises it and IDLE is true; otherwise the mailbox is
	// polled every PollInterval (default 30 s).
	IDLE         bool
	PollInterval time.Duration
	// MaxMessageBytes: bigger mails (by RFC822.SIZE) are not fetched but moved to the failed
	// mailbox. Default 50 MiB.
	MaxMessageBytes int64
	// Workers is how many mails of a fetched batch are handled at once (default 1: one
	// after another, in UID order). More lets a handler's database commits share an fsync.
	Workers int
	// TempDir receives the fetched mails, each in a temporary file while it is handled;
	// default os.TempDir().
	TempDir string
	Logger  *slog.Logger
	// OnState is told when the connection goes up (after SELECT) or down; may be nil.
	OnState func(connected bool)
	// TLSConfig for "tls" and "starttls"; nil means the system roots. An empty ServerName is
	// set to Host.
	TLSConfig *tls.Config
}

// Disposition is what to do with a mail once handled.
type Disposition int

// Dispositions.
const (
	Processed Disposition = iota // moved to the processed mailbox
	Failed                       // moved to the failed mailbox
)

// String returns "processed" or "failed".
func (d Disposition) String() string {
	switch d {
	case Processed:
		return "processed"
	case Failed:
		return "failed"
	}
	return "Disposition(" + strconv.Itoa(int(d)) + ")"
}

// Handler handles one mail. It returns the disposition and, for Failed, a reason; a non-nil
// error means "could not handle now" (e.g. the database is down): the mail stays where it is
// and is retried after a backoff.
type Handler interface {
	HandleMail(ctx context.Context, m Mail) (Disposition, string, error)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, m Mail) (Disposition, string, error)

// HandleMail calls f.
func (f HandlerFunc) HandleMail(ctx context.Context, m Mail) (Disposition, string, error) {
	return f(ctx, m)
}

var _ Handler = HandlerFunc(nil)

// Mail is one message of the watched mailbox.
type Mail struct {
	UID         uint32
	UIDValidity uint32
	// Raw is the message as the server sent it, Size bytes, in a temporary file that is
	// gone once HandleMail returned (a mail of up to 256 KiB in memory): the poller never
	// holds a large mail in memory, so a mail at MaxMessageBytes costs no more than a small
	// one.
	Raw          io.ReaderAt
	Size         int64
	InternalDate time.Time
}

// Poller watches the mailbox. Make one with New, then call Run once.
type Poller struct {
	opts Options
	h    Handler
	log  *slog.Logger

	connected   atomic.Bool
	uidValidity atomic.Uint32

	// testHookIdle, when set by a test, is called each time IDLE has started.
	testHookIdle func()
}

// New returns a Poller over the options, with defaults filled in.
func New(opts Options, h Handler) *Poller {
	if opts.Security == "" {
		opts.Security = SecurityTLS
	}
	if opts.Port == 0 {
		opts.Port = 993
		if opts.Security != SecurityTLS {
			opts.Port = 143
		}
	}
	if opts.Mailbox == "" {
		opts.Mailbox = DefaultMailbox
	}
	if opts.ProcessedMailbox == "" {
		opts.ProcessedMailbox = DefaultProcessedMailbox
	}
	if opts.FailedMailbox == "" {
		opts.FailedMailbox = DefaultFailedMailbox
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{opts: opts, h: h, log: log.With("channel", "email")}
}

// Connected reports whether the poller is logged in with its mailbox selected.
func (p *Poller) Connected() bool { return p.connected.Load() }

func (p *Poller) setConnected(v bool) {
	if p.connected.Swap(v) != v && p.opts.OnState != nil {
		p.opts.OnState(v)
	}
}

// Run connects, creates the missing mailboxes and then processes the mailbox until ctx ends:
// every mail in ascending UID order, then IDLE (or a sleep of PollInterval), and again. It
// reconnects with jittered exponential backoff (1 s to 2 min) after any connection error and
// returns nil when ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	reconnect := backoff{min: minBackoff, max: maxBackoff}
	for {
		start := time.Now()
		err := p.session(ctx)
		p.setConnected(false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) >= stableSession {
			reconnect.reset()
		}
		wait := reconnect.next()
		p.log.Warn("imap connection lost", "err", err, "retry_in", wait.Round(time.Millisecond))
		if !sleep(ctx, wait, nil) {
			return nil
		}
	}
}

// conn is one logged-in connection.
type conn struct {
	c    *imapclient.Client
	wake chan struct{} // signalled when the server reports messages (EXISTS)
	// names of the mailboxes, with the server's delimiter
	mailbox, processed, failed string
}

// dial connects and logs in; it closes the client when ctx ends.
func (p *Poller) dial(ctx context.Context) (*conn, func(), error) {
	cn := &conn{wake: make(chan struct{}, 1)}
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil && *d.NumMessages > 0 {
					select {
					case cn.wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	addr := net.JoinHostPort(p.opts.Host, strconv.Itoa(p.opts.Port))
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	tlsConfig := p.tlsConfig()
	switch p.opts.Security {
	case SecurityTLS:
		tc := tls.Client(nc, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		cn.c = imapclient.New(tc, opts)
	case SecurityStartTLS:
		opts.TLSConfig = tlsConfig
		stop := context.AfterFunc(dctx, func() { nc.Close() })
		cn.c, err = imapclient.NewStartTLS(nc, opts)
		stop()
		if err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("starttls with %s: %w", addr, err)
		}
	case SecurityNone:
		cn.c = imapclient.New(nc, opts)
	default:
		nc.Close()
		return nil, nil, fmt.Errorf("unknown security %q (want tls, starttls or none)", p.opts.Security)
	}
	stop := context.AfterFunc(ctx, func() { cn.c.Close() })
	closeFn := func() {
		stop()
		cn.c.Close()
	}

	done := guard(cn.c, dialTimeout)
	err = cn.c.WaitGreeting()
	done()
	if err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("greeting from %s: %w", addr, err)
	}
	if err := wait(cn.c, cn.c.Login(p.opts.Username, p.opts.Password).Wait); err != nil {
		closeFn()
		// The error is the server's answer; it never holds the password.
		return nil, nil, fmt.Errorf("login as %s: %w", p.opts.Username, err)
	}
	if err := p.resolveNames(cn); err != nil {
		closeFn()
		return nil, nil, err
	}
	return cn, closeFn, nil
}

func (p *Poller) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.opts.TLSConfig != nil {
		cfg = p.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = p.opts.Host
	}
	return cfg
}

// resolveNames puts the server's hierarchy delimiter into the mailbox names.
func (p *Poller) resolveNames(cn *conn) error {
	var delim rune
	err := wait(cn.c, func() error {
		list, err := cn.c.List("", "", nil).Collect()
		if err == nil && len(list) > 0 {
			delim = list[0].Delim
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("list the hierarchy delimiter: %w", err)
	}
	name := func(s string) string {
		if delim != 0 && delim != '/' {
			return strings.ReplaceAll(s, "/", string(delim))
		}
		return s
	}
	cn.mailbox, cn.processed, cn.failed = name(p.opts.Mailbox), name(p.opts.ProcessedMailbox), name(p.opts.FailedMailbox)
	return nil
}

// ensureMailboxes creates those of the mailboxes that do not exist.
func (p *Poller) ensureMailboxes(cn *conn, names ...string) error {
	for _, name := range names {
		if strings.EqualFold(name, "INBOX") {
			continue
		}
		ok, err := exists(cn.c, name)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := wait(cn.c, cn.c.Create(name, nil).Wait); err != nil {
			// Someone else may have created it meanwhile.
			if ok, lerr := exists(cn.c, name); lerr != nil || !ok {
				return fmt.Errorf("create mailbox %s: %w", name, err)
			}
		} else {
			p.log.Info("imap mailbox created", "mailbox", name)
		}
		// So that mail clients show it; not needed by the poller.
		_ = wait(cn.c, cn.c.Subscribe(name).Wait)
	}
	return nil
}

// exists reports whether the mailbox exists and can hold mail. It asks STATUS rather than
// LIST: servers list a parent left behind by a deleted mailbox without \Noselect (Dovecot with
// Maildir++ does), yet it cannot be selected.
func exists(c *imapclient.Client, name string) (bool, error) {
	err := wait(c, func() error {
		_, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		return err
	})
	var imapErr *imap.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &imapErr) && imapErr.Type == imap.StatusResponseTypeNo:
		return false, nil
	}
	return false, fmt.Errorf("status of mailbox %s: %w", name, err)
}

// session is one connection's life: connect, select, then rounds and waits until an error.
func (p *Poller) session(ctx context.Context) error {
	cn, closeFn, err := p.dial(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := p.ensureMailboxes(cn, cn.mailbox, cn.processed, cn.failed); err != nil {
		return err
	}
	var sel *imap.SelectData
	err = wait(cn.c, func() (err error) {
		sel, err = cn.c.Select(cn.mailbox, nil).Wait()
		return err
	})
	if err != nil {
		return fmt.Errorf("select %s: %w", cn.mailbox, err)
	}
	// Everything is moved out of the mailbox once handled, so a new UIDVALIDITY needs no
	// re-import: the next round handles what is there, under the new UIDs.
	if old := p.uidValidity.Swap(sel.UIDValidity); old != 0 && old != sel.UIDValidity {
		p.log.Warn("imap uidvalidity changed", "mailbox", cn.mailbox, "old", old, "new", sel.UIDValidity)
	}
	useIdle := p.opts.IDLE && (cn.c.Caps().Has(imap.CapIdle) || cn.c.Caps().Has(imap.CapIMAP4rev2))
	p.log.Info("imap connected", "host", p.opts.Host, "mailbox", cn.mailbox, "messages", sel.NumMessages, "idle", useIdle)
	p.setConnected(true)

	retry := backoff{min: minBackoff, max: maxBackoff}
	for {
		again, err := p.round(ctx, cn, sel.UIDValidity)
		if err != nil {
			return err
		}
		if again {
			// A handler could not handle a mail now, or a move failed: retry after a backoff.
			if !sleep(ctx, retry.next(), cn.c.Closed()) {
				return closedErr(ctx)
			}
			continue
		}
		retry.reset()
		if useIdle {
			err = p.idle(ctx, cn)
		} else if !sleep(ctx, p.opts.PollInterval, cn.c.Closed()) {
			err = closedErr(ctx)
		}
		if err != nil {
			return err
		}
	}
}

func closedErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("connection closed")
}

// idle waits in IDLE until the server reports messages, ctx ends, the connection drops or
// idleRestart passes.
func (p *Poller) idle(ctx context.Context, cn *conn) error {
	cmd, err := cn.c.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	if p.testHookIdle != nil {
		p.testHookIdle()
	}
	t := time.NewTimer(idleRestart)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-cn.wake:
	case <-t.C:
	case <-cn.c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("stop idle: %w", err)
	}
	if err := wait(cn.c, cmd.Wait); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	return ctx.Err()
}

// Reprocess moves every mail of the failed mailbox back to the watched mailbox, where a
// running Poller handles it again, and returns how many it moved. It uses a connection of
// its own.
func (p *Poller) Reprocess(ctx context.Context) (int, error) {
	cn, closeFn, err := p.dial(ctx)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	ok, err := exists(cn.c, cn.failed)
	if err != nil || !ok {
		return 0, err
	}
	if err := p.ensureMailboxes(cn, cn.mailbox); err != nil {
		return 0, err
	}
	if err := wait(cn.c, func() error { _, err := cn.c.Select(cn.failed, nil).Wait(); return err }); err != nil {
		return 0, fmt.Errorf("select %s: %w", cn.failed, err)
	}
	uids, err := search(cn.c)
	if err != nil {
		return 0, err
	}
	moved := 0
	for len(uids) > 0 {
		n := min(len(uids), moveChunk)
		set := imap.UIDSetNum(uids[:n]...)
		uids = uids[n:]
		// Unseen again, so that a person looking at the mailbox sees them as new.
		if err := wait(cn.c, cn.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close); err != nil {
			return moved, fmt.Errorf("unmark uids %s seen in %s: %w", set, cn.failed, err)
		}
		if err := wait(cn.c, func() error { _, err := cn.c.Move(set, cn.mailbox).Wait(); return err }); err != nil {
			return moved, fmt.Errorf("move uids %s from %s to %s: %w", set, cn.failed, cn.mailbox, err)
		}
		moved += n
	}
	_ = wait(cn.c, cn.c.Logout().Wait)
	p.log.Info("imap failed mails moved back", "mailbox", cn.mailbox, "count", moved)
	return moved, nil
}

// search returns the UIDs of the selected mailbox's messages not marked \Deleted, ascending.
func search(c *imapclient.Client) ([]imap.UID, error) {
	var data *imap.SearchData
	err := wait(c, func() (err error) {
		data, err = c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}, nil).Wait()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("uid search: %w", err)
	}
	uids := data.AllUIDs()
	sortUIDs(uids)
	return uids, nil
}

// guard closes the client if stop is not called within d: a server that stops answering
// must not hang the poller (the library waits for an answer without a limit).
func guard(c *imapclient.Client, d time.Duration) (stop func()) {
	t := time.AfterFunc(d, func() { c.Close() })
	return func() { t.Stop() }
}

// wait runs f, a command's wait, under guard with commandTimeout.
func wait(c *imapclient.Client, f func() error) error {
	stop := guard(c, commandTimeout)
	defer stop()
	return f()
}

// sleep waits for d, ctx or closed (which may be nil). It reports whether d passed.
func sleep(ctx context.Context, d time.Duration, closed <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-closed:
		return false
	}
}

// backoff is jittered exponential backoff between min and max.
type backoff struct {
	min, max time.Duration
	n        int
}

// next returns the next wait: min·2ⁿ capped at max, then a random point in its upper half.
func (b *backoff) next() time.Duration {
	d := b.max
	if b.n < 30 {
		if x := b.min << b.n; x > 0 && x < b.max {
			d = x
			b.n++
		}
	}
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.n = 0 }

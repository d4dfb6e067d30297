package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/smtp"
	"github.com/helpdeskd/helpdeskd/adapters/smtp/smtptest"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// outboxSpec is what the outbox cells send and where to.
type outboxSpec struct {
	smtpAddr    string        // plain SMTP on loopback (the mail stack's Postfix); "": none
	server      string        // what smtpAddr is, for the rows
	tailWait    time.Duration // how long the steady cell waits for the outbox to empty
	domain      string        // a domain the server delivers locally
	discard     string        // a domain the server queues and discards; "": none
	backlog     int           // email notifications of the drain cell
	rate        int           // creates per second of the steady cell
	duration    time.Duration // of the steady cell
	connections int           // SMTP connections
	workers     int           // email notifications in flight (DispatcherOptions.EmailWorkers)
}

// outboxDesk is the daemon's outbox wiring (`helpdeskd serve` with email on, no IMAP):
// every create queues a confirmation to the customer and an alert to the staff address.
// Both go to the mail stack's user eve, whom no test but this command's uses: other tests
// empty the mailboxes of their users.
type outboxDesk struct {
	db       *sqlite.DB
	svc      *core.Service
	customer *core.User
	disp     *gateway.Dispatcher
	sender   *smtp.Sender
}

func openOutboxDesk(ctx context.Context, dir string, s outboxSpec) (*outboxDesk, error) {
	host, portText, err := net.SplitHostPort(s.smtpAddr)
	if err != nil {
		return nil, fmt.Errorf("-smtp %q: %w", s.smtpAddr, err)
	}
	port, _ := strconv.Atoi(portText)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "helpdeskd.db"), sqlite.Options{AttachmentsDir: filepath.Join(dir, "attachments")})
	if err != nil {
		return nil, err
	}
	d := &outboxDesk{db: db}
	d.svc = core.NewService(db, db.Blobs(), nil, core.Options{Notify: core.NotifyOptions{Email: true, StaffEmails: []string{"eve@" + s.domain}}})
	sys := core.System()
	if _, err := d.svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Bench"}); err != nil {
		db.Close()
		return nil, err
	}
	if d.customer, err = d.svc.PutUser(ctx, sys, core.User{ID: 1, Email: "eve@" + s.domain, Name: "Eve", AccountIDs: []int64{1}}); err != nil {
		db.Close()
		return nil, err
	}
	d.sender, err = smtp.New(smtp.Options{Host: host, Port: port, Security: smtp.SecurityNone, From: "support@" + s.domain,
		FromName: "Bench desk", HeloName: "bench.localhost", Connections: s.connections})
	if err != nil {
		db.Close()
		return nil, err
	}
	d.disp = gateway.NewDispatcher(db, db, map[core.Channel]gateway.Sender{core.ChannelEmail: d.sender}, nil, gateway.DispatcherOptions{
		EmailWorkers: s.workers, Logger: slog.New(slog.DiscardHandler),
		Render: gateway.RenderOptions{Address: "support@" + s.domain, Name: "Bench desk"},
	})
	db.SetOnQueued(d.disp.Kick)
	return d, nil
}

func (d *outboxDesk) close() error {
	d.sender.Close()
	return d.db.Close()
}

func (d *outboxDesk) create(ctx context.Context, i int) error {
	_, err := d.svc.CreateTicket(ctx, core.Actor{User: d.customer, Channel: core.ChannelAPI}, core.NewTicket{
		AccountID: 1, Subject: fmt.Sprintf("Bench ticket %d", i),
		Description: "Hello,\n\nthe site answers 502 on every other request since this morning.\n"})
	return err
}

// lag is how far the outbox is behind: the age of its oldest pending notification.
func (d *outboxDesk) lag(ctx context.Context, now time.Time) (time.Duration, int, error) {
	next, err := d.db.NextDue(ctx)
	if err != nil || next.IsZero() {
		return 0, 0, err
	}
	depth, err := d.db.OutboxDepth(ctx)
	return max(0, now.Sub(next)), depth, err
}

var errStillQueued = errors.New("still queued")

// waitEmpty waits until no notification is pending. It asks NextDue, an index lookup:
// counting the backlog as often would cost the dispatcher a good share of the CPU.
func (d *outboxDesk) waitEmpty(ctx context.Context, deadline time.Time) error {
	for {
		next, err := d.db.NextDue(ctx)
		if err != nil || next.IsZero() {
			return err
		}
		if time.Now().After(deadline) {
			n, _ := d.db.OutboxDepth(ctx)
			return fmt.Errorf("%w: %d", errStillQueued, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outboxRows runs the outbox cells, each on a fresh database, against an in-process SMTP
// sink and, when s.smtpAddr is set, against that server: the server alone (its ceiling),
// a backlog drained to it, then steady creates with the dispatcher keeping up.
func outboxRows(ctx context.Context, s outboxSpec, dir string, cell func(func() (row, error)) (row, error), progress func(string, ...any)) ([]row, error) {
	sink, err := smtptest.StartSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	targets := []outboxSpec{s}
	targets[0].smtpAddr, targets[0].server = sink.Addr(), "an SMTP sink in process"
	if s.smtpAddr != "" && s.discard != "" {
		// First the mail Postfix queues and discards: its rate as a relay whose deliveries
		// run on other machines. Then the mail it delivers into Dovecot on the same cores.
		t := s
		t.domain, t.server = s.discard, "loopback Postfix (queued, discarded)"
		targets = append(targets, t)
	}
	if s.smtpAddr != "" {
		t := s
		t.server = "loopback Postfix (delivered to Dovecot)"
		targets = append(targets, t)
	}
	var rows []row
	for i, t := range targets {
		for _, c := range []struct {
			name string
			fn   func(context.Context, outboxSpec, string, func(string, ...any)) (row, error)
		}{{"server", serverRow}, {"drain", drainRow}, {"steady", steadyRow}} {
			r, err := cell(func() (row, error) {
				return c.fn(ctx, t, filepath.Join(dir, fmt.Sprintf("outbox-%s-%d", c.name, i)), progress)
			})
			if err != nil {
				return nil, fmt.Errorf("outbox %s cell, %s: %w", c.name, t.server, err)
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// serverRow is the server's own rate for the mails of the drain cell: the same Sender and
// connections, no outbox.
func serverRow(ctx context.Context, s outboxSpec, _ string, progress func(string, ...any)) (row, error) {
	host, portText, err := net.SplitHostPort(s.smtpAddr)
	if err != nil {
		return row{}, err
	}
	port, _ := strconv.Atoi(portText)
	snd, err := smtp.New(smtp.Options{Host: host, Port: port, Security: smtp.SecurityNone, From: "support@" + s.domain,
		FromName: "Bench desk", HeloName: "bench.localhost", Connections: s.connections})
	if err != nil {
		return row{}, err
	}
	defer snd.Close()
	progress("outbox: %d mails straight to %s over %d connection(s)", s.backlog, s.server, s.connections)
	stamp := time.Now().UnixNano()
	start := time.Now()
	err = parallel(ctx, s.backlog, s.connections, func(ctx context.Context, i int) error {
		return snd.Send(ctx, gateway.Outgoing{NotificationID: int64(i + 1), To: "eve@" + s.domain, Subject: "Bench mail",
			Text:      "Hello,\n\nthe site answers 502 on every other request since this morning.\n",
			MessageID: fmt.Sprintf("bench-%d-%d@%s", stamp, i, s.domain)})
	})
	if err != nil {
		return row{}, err
	}
	elapsed := time.Since(start)
	return row{Kind: kindOutbox, What: fmt.Sprintf("%s alone: smtp.Sender, %d connections, no outbox", s.server, s.connections),
		Ops: s.backlog, Unit: "mails", PerSecond: float64(s.backlog) / elapsed.Seconds(), total: s.backlog}, nil
}

func drainRow(ctx context.Context, s outboxSpec, dir string, progress func(string, ...any)) (row, error) {
	d, err := openOutboxDesk(ctx, dir, s)
	if err != nil {
		return row{}, err
	}
	defer d.close()
	tickets := (s.backlog + 1) / 2
	progress("outbox: queueing %d email notifications (%d tickets)", tickets*2, tickets)
	if err := parallel(ctx, tickets, 32, d.create); err != nil {
		return row{}, err
	}
	progress("outbox: draining to %s over %d connection(s)", s.smtpAddr, s.connections)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- d.disp.Run(runCtx) }()
	defer func() { stop(); <-done }()
	if err := d.waitEmpty(ctx, start.Add(5*time.Minute)); err != nil {
		return row{}, err
	}
	elapsed := time.Since(start)
	return row{Kind: kindOutbox, What: fmt.Sprintf("outbox: backlog of email notifications drained to %s (%d connections)", s.server, s.connections),
		Ops: tickets * 2, Unit: "mails", PerSecond: float64(tickets*2) / elapsed.Seconds(), total: tickets * 2}, nil
}

func steadyRow(ctx context.Context, s outboxSpec, dir string, progress func(string, ...any)) (row, error) {
	d, err := openOutboxDesk(ctx, dir, s)
	if err != nil {
		return row{}, err
	}
	defer d.close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.disp.Run(runCtx) }()
	defer func() { stop(); <-done }()
	progress("outbox: %d creates/s for %s with email to %s", s.rate, s.duration, s.smtpAddr)
	var created, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var maxLag time.Duration
	maxDepth := 0
	sample := func() error {
		l, n, err := d.lag(ctx, time.Now())
		maxLag, maxDepth = max(maxLag, l), max(maxDepth, n)
		return err
	}
	// Creates are spread evenly over each second, never more than 64 in flight: an open
	// loop, so a slow commit shows as a lower rate, not as hidden queueing in the client.
	start := time.Now()
	total := int(float64(s.rate) * s.duration.Seconds())
	nextSample := start
	for i := 0; i < total; i++ {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(s.rate))
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		if now := time.Now(); now.After(nextSample) {
			if err := sample(); err != nil {
				return row{}, err
			}
			nextSample = now.Add(100 * time.Millisecond)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := d.create(ctx, i); err != nil {
				if failed.Add(1) == 1 {
					firstErr.Store(err.Error())
				}
				return
			}
			created.Add(1)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := sample(); err != nil {
		return row{}, err
	}
	// Then until the outbox is empty: what is left is the tail the load left behind.
	tail := time.Now()
	left := "empty " + "%s after the load"
	if err := d.waitEmpty(ctx, tail.Add(s.tailWait)); errors.Is(err, errStillQueued) {
		left = err.Error() + " %s after the load"
	} else if err != nil {
		return row{}, err
	}
	r := row{Kind: kindOutbox, Ops: int(created.Load()), Unit: "tickets", PerSecond: float64(created.Load()) / elapsed.Seconds(),
		What: fmt.Sprintf("outbox: %d creates/s for %s, email to %s", s.rate, s.duration, s.server),
		Note: fmt.Sprintf("outbox at most %s behind (%d queued); "+left, maxLag.Round(time.Millisecond), maxDepth,
			time.Since(tail).Round(time.Millisecond)),
		Errors: int(failed.Load()), total: int(created.Load())}
	if v, ok := firstErr.Load().(string); ok {
		r.firstError = v
	}
	return r, nil
}

// parallel runs fn(0..n-1) from workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := fn(ctx, i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// startProfile writes a CPU profile to path until the returned stop is called.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

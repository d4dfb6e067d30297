package imap

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/imap/imaptest"
)

// These tests run against the real Dovecot (and Postfix) of scripts/mailstack.sh; without
// it they skip. See imaptest.

func TestRun_ProcessesInUIDOrderAndMovesToProcessed(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	// More than two fetch chunks, so chunking and batching are exercised.
	const n = 2*fetchChunk + 7
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = newMail(fmt.Sprintf("mail %03d", i), 200+i*10)
	}
	uids := imaptest.AppendAll(t, srv, testUser, box, raws)

	rec := &recorder{}
	opts := options(t, srv, box)
	p := New(opts, rec)
	start(t, p)

	processed := imaptest.WaitForMessages(t, srv, testUser, opts.ProcessedMailbox, n, waitLong)
	if len(processed) != n {
		t.Fatalf("processed mailbox holds %d mails, want %d", len(processed), n)
	}
	for i, m := range processed {
		if !m.Seen() {
			t.Errorf("processed mail %d is not \\Seen (flags %v)", i, m.Flags)
		}
		if got, want := subject(m.Raw), subject(raws[i]); got != want {
			t.Errorf("processed mail %d has subject %q, want %q (moved out of order?)", i, got, want)
		}
	}
	seen := rec.seen()
	if len(seen) != n {
		t.Fatalf("handler saw %d mails, want %d", len(seen), n)
	}
	for i, m := range seen {
		if m.UID != uids[i] {
			t.Errorf("handler call %d got uid %d, want %d (ascending UID order)", i, m.UID, uids[i])
		}
		if !bytes.Equal(m.Raw, raws[i]) {
			t.Errorf("handler call %d got a raw mail of %d bytes that differs from the %d appended", i, len(m.Raw), len(raws[i]))
		}
		if m.UIDValidity == 0 || m.InternalDate.IsZero() {
			t.Errorf("handler call %d: UIDValidity %d, InternalDate %v; want both set", i, m.UIDValidity, m.InternalDate)
		}
	}
	if got := imaptest.Count(t, srv, testUser, box); got != 0 {
		t.Errorf("watched mailbox still holds %d mails, want 0", got)
	}
	if !p.Connected() {
		t.Error("Connected() = false while running")
	}
}

func TestRun_FailedDispositionGoesToFailedMailbox(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	imaptest.AppendAll(t, srv, testUser, box, [][]byte{newMail("good one", 100), newMail("bad one", 100), newMail("good two", 100)})

	rec := &recorder{decide: func(_ int, m seenMail) (Disposition, string, error) {
		if strings.HasPrefix(subject(m.Raw), "bad") {
			return Failed, "cannot parse", nil
		}
		return Processed, "", nil
	}}
	opts := options(t, srv, box)
	start(t, New(opts, rec))

	failed := imaptest.WaitForMessages(t, srv, testUser, opts.FailedMailbox, 1, waitLong)
	processed := imaptest.WaitForMessages(t, srv, testUser, opts.ProcessedMailbox, 2, waitLong)
	if len(failed) != 1 || subject(failed[0].Raw) != "bad one" || !failed[0].Seen() {
		t.Errorf("failed mailbox: %d mails, first %q; want only \"bad one\", \\Seen", len(failed), subject(failed[0].Raw))
	}
	var subjects []string
	for _, m := range processed {
		subjects = append(subjects, subject(m.Raw))
	}
	if want := []string{"good one", "good two"}; !slices.Equal(subjects, want) {
		t.Errorf("processed mailbox holds %q, want %q", subjects, want)
	}
}

func TestRun_HandlerErrorLeavesMailAndRetries(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	imaptest.Append(t, srv, testUser, box, newMail("retry me", 100))

	secondCall := make(chan struct{})
	release := make(chan struct{})
	rec := &recorder{decide: func(call int, _ seenMail) (Disposition, string, error) {
		switch call {
		case 1:
			return 0, "", errors.New("database is down")
		case 2:
			close(secondCall)
			<-release
		}
		return Processed, "", nil
	}}
	opts := options(t, srv, box)
	start(t, New(opts, rec))

	select {
	case <-secondCall:
	case <-time.After(waitLong):
		t.Fatalf("the handler was not called again after its error (calls: %d)", len(rec.seen()))
	}
	// Between the failed first call and the second, the mail stayed where it was.
	if got := imaptest.Count(t, srv, testUser, box); got != 1 {
		t.Errorf("after the handler's error the watched mailbox holds %d mails, want 1", got)
	}
	if got := imaptest.Count(t, srv, testUser, opts.ProcessedMailbox); got != 0 {
		t.Errorf("after the handler's error the processed mailbox holds %d mails, want 0", got)
	}
	close(release)
	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 1, waitLong)
	seen := rec.seen()
	if len(seen) != 2 || seen[0].UID != seen[1].UID {
		t.Errorf("handler calls: %d, want 2 for the same uid", len(seen))
	}
}

// A handler's error in a later batch, while the batch before it is still being moved (the
// poller moves one batch while it handles the next): the mails handled before the error are
// moved once, the failing one and those after it stay and are handled again.
func TestRun_HandlerErrorInALaterBatchKeepsWhatWasHandled(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	const n = 2*fetchChunk + 7
	const bad = fetchChunk + 10
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = newMail(fmt.Sprintf("mail %03d", i), 200)
	}
	imaptest.AppendAll(t, srv, testUser, box, raws)
	var failedOnce atomic.Bool
	rec := &recorder{decide: func(_ int, m seenMail) (Disposition, string, error) {
		if subject(m.Raw) == subject(raws[bad]) && failedOnce.CompareAndSwap(false, true) {
			return 0, "", errors.New("database is down")
		}
		return Processed, "", nil
	}}
	opts := options(t, srv, box)
	opts.Workers = 4
	start(t, New(opts, rec))

	processed := imaptest.WaitForMessages(t, srv, testUser, opts.ProcessedMailbox, n, waitLong)
	got := map[string]int{}
	for _, m := range processed {
		got[subject(m.Raw)]++
	}
	calls := map[string]int{}
	for _, m := range rec.seen() {
		calls[subject(m.Raw)]++
	}
	for i, raw := range raws {
		s := subject(raw)
		if got[s] != 1 {
			t.Errorf("%q is %d times in the processed mailbox, want once", s, got[s])
		}
		want := 1
		if i == bad {
			want = 2
		}
		if calls[s] != want {
			t.Errorf("%q was handled %d times, want %d", s, calls[s], want)
		}
	}
	if left := imaptest.Count(t, srv, testUser, box); left != 0 {
		t.Errorf("watched mailbox still holds %d mails, want 0", left)
	}
}

func TestRun_IdlePicksUpMailDeliveredBySMTP(t *testing.T) {
	srv := imaptest.Env(t)
	if srv.SMTPAddr == "" {
		t.Skip("no SMTP server: run ./scripts/test.sh, or scripts/mailstack.sh start DIR and source DIR/env")
	}
	box := imaptest.Mailbox(t, srv, testUser)
	raw := newMail("delivered while idle", 100)
	const notMine = "not this test's mail"

	got := make(chan seenMail, 1)
	rec := &recorder{decide: func(_ int, m seenMail) (Disposition, string, error) {
		if !bytes.Contains(m.Raw, []byte("Subject: delivered while idle")) {
			// Another package's mail in the shared INBOX: set aside, given back below.
			return Failed, notMine, nil
		}
		got <- m
		return Processed, "", nil
	}}
	opts := options(t, srv, box)
	opts.Mailbox = "INBOX" // where Postfix delivers
	p := New(opts, rec)
	idling := make(chan struct{}, 10)
	p.testHookIdle = func() { idling <- struct{}{} }
	t.Cleanup(func() {
		// Runs after the poller stopped: give other tests' mails back to the INBOX.
		if _, err := p.Reprocess(context.Background()); err != nil {
			t.Errorf("give back the INBOX mails set aside: %v", err)
		}
	})
	start(t, p)

	select {
	case <-idling:
	case <-time.After(waitLong):
		t.Fatal("the poller did not start IDLE")
	}
	imaptest.Deliver(t, srv.SMTPAddr, srv.Address("ann"), srv.Address(testUser), raw)
	select {
	case m := <-got:
		if !bytes.Contains(m.Raw, []byte("Subject: delivered while idle")) {
			t.Errorf("handler got %q", subject(m.Raw))
		}
	case <-time.After(waitLong):
		t.Fatal("the mail delivered while idle was not handled")
	}
	// PollInterval is an hour: only IDLE's EXISTS can have started that round.
	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 1, waitLong)
}

func TestRun_PollsWhenIdleIsOff(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	opts := options(t, srv, box)
	opts.IDLE = false
	opts.PollInterval = 100 * time.Millisecond
	rec := &recorder{}
	p := New(opts, rec)
	p.testHookIdle = func() { t.Error("IDLE used with IDLE off") }
	start(t, p)

	eventually(t, "connected", p.Connected)
	imaptest.Append(t, srv, testUser, box, newMail("polled", 100))
	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 1, waitLong)
	if n := len(rec.seen()); n != 1 {
		t.Errorf("handler calls: %d, want 1", n)
	}
}

func TestRun_ReconnectsAfterDroppedConnection(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	proxy := newFaultProxy(t, srv.IMAPAddr)
	opts := options(t, srv, box)
	opts.Host, opts.Port = proxy.hostPort()
	var mu sync.Mutex
	var states []bool
	opts.OnState = func(up bool) {
		mu.Lock()
		states = append(states, up)
		mu.Unlock()
	}
	rec := &recorder{}
	p := New(opts, rec)
	start(t, p)

	imaptest.Append(t, srv, testUser, box, newMail("before the cut", 100))
	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 1, waitLong)

	proxy.cut()
	eventually(t, "reconnected", func() bool { return proxy.accepted.Load() >= 2 && p.Connected() })
	imaptest.Append(t, srv, testUser, box, newMail("after the cut", 100))
	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 2, waitLong)

	mu.Lock()
	defer mu.Unlock()
	if len(states) < 3 || !states[0] || states[1] || !states[2] {
		t.Errorf("OnState calls %v, want up, down, up", states)
	}
}

func TestReprocess_MovesFailedMailsBack(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	var mu sync.Mutex
	tries := map[string]int{}
	rec := &recorder{decide: func(_ int, m seenMail) (Disposition, string, error) {
		mu.Lock()
		defer mu.Unlock()
		tries[subject(m.Raw)]++
		if tries[subject(m.Raw)] == 1 {
			return Failed, "first time", nil
		}
		return Processed, "", nil
	}}
	opts := options(t, srv, box)
	p := New(opts, rec)
	start(t, p)

	imaptest.AppendAll(t, srv, testUser, box, [][]byte{newMail("one", 100), newMail("two", 100)})
	imaptest.WaitFor(t, srv, testUser, opts.FailedMailbox, 2, waitLong)

	n, err := p.Reprocess(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Reprocess = %d, %v; want 2, nil", n, err)
	}
	// The running poller gets them by IDLE and now processes them.
	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 2, waitLong)
	if got := imaptest.Count(t, srv, testUser, opts.FailedMailbox); got != 0 {
		t.Errorf("failed mailbox holds %d mails after Reprocess, want 0", got)
	}
	n, err = p.Reprocess(context.Background())
	if err != nil || n != 0 {
		t.Errorf("Reprocess of an empty failed mailbox = %d, %v; want 0, nil", n, err)
	}
}

func TestRun_OversizeMailGoesToFailedWithoutFetching(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	const limit = 10_000
	const bigSize = 400_000
	imaptest.AppendAll(t, srv, testUser, box, [][]byte{newMail("big", bigSize), newMail("small", 1000)})

	// Through the proxy, to count what the server sent.
	proxy := newFaultProxy(t, srv.IMAPAddr)
	opts := options(t, srv, box)
	opts.Host, opts.Port = proxy.hostPort()
	opts.MaxMessageBytes = limit
	rec := &recorder{}
	start(t, New(opts, rec))

	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 1, waitLong)
	failed := imaptest.WaitFor(t, srv, testUser, opts.FailedMailbox, 1, waitLong)
	if len(failed) != 1 || subject(failed[0]) != "big" {
		t.Fatalf("failed mailbox holds %d mails, want only the big one", len(failed))
	}
	for _, m := range rec.seen() {
		if subject(m.Raw) == "big" {
			t.Error("the handler got the oversized mail")
		}
	}
	if got := proxy.fromServer.Load(); got >= bigSize {
		t.Errorf("the server sent %d bytes, so the %d-byte mail was fetched", got, bigSize)
	}
}

func TestRun_CreatesMissingMailboxes(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	opts := options(t, srv, box)
	opts.ProcessedMailbox = box + "/deep/done"
	p := New(opts, &recorder{})

	// Reprocess with no failed mailbox moves nothing and creates nothing.
	if n, err := p.Reprocess(context.Background()); err != nil || n != 0 {
		t.Fatalf("Reprocess without a failed mailbox = %d, %v; want 0, nil", n, err)
	}
	if imaptest.Exists(t, srv, testUser, opts.FailedMailbox) {
		t.Error("Reprocess created the failed mailbox")
	}

	start(t, p)
	eventually(t, "connected", p.Connected)
	for _, name := range []string{opts.Mailbox, opts.ProcessedMailbox, opts.FailedMailbox} {
		if !imaptest.Exists(t, srv, testUser, name) {
			t.Errorf("mailbox %s was not created", name)
		}
	}
}

func TestRun_UIDValidityChangeIsLoggedAndMailStillProcessed(t *testing.T) {
	srv := imaptest.Env(t)
	box := imaptest.Mailbox(t, srv, testUser)
	var logs syncBuffer
	opts := options(t, srv, box)
	// Siblings, not children: deleting a mailbox with children leaves a \NoSelect node
	// behind that cannot be created again under the same name.
	opts.ProcessedMailbox, opts.FailedMailbox = box+"-processed", box+"-failed"
	opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(&logs, t.Output()), nil))
	rec := &recorder{}
	p := New(opts, rec)

	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		return func() {
			cancel()
			select {
			case <-done:
			case <-time.After(waitLong):
				t.Fatal("Run did not return after its context ended")
			}
		}
	}

	stop := run()
	imaptest.Append(t, srv, testUser, box, newMail("first", 100))
	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 1, waitLong)
	stop()

	// A new mailbox under the same name has a new UIDVALIDITY.
	c := imaptest.Client(t, srv, testUser)
	if err := c.Delete(box).Wait(); err != nil {
		t.Fatal(err)
	}
	imaptest.Append(t, srv, testUser, box, newMail("second", 100))

	stop = run()
	defer stop()
	imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 2, waitLong)
	if !strings.Contains(logs.String(), "imap uidvalidity changed") {
		t.Error("the UIDVALIDITY change was not logged")
	}
	if seen := rec.seen(); len(seen) != 2 || seen[0].UIDValidity == seen[1].UIDValidity {
		t.Errorf("handler calls %d; want 2 under different UIDVALIDITY", len(seen))
	}
}

func TestRun_ImplicitTLSVerifiesTheServer(t *testing.T) {
	srv := imaptest.Env(t)
	cert, pool := selfSigned(t)
	proxy := newTLSProxy(t, srv.IMAPAddr, cert)

	t.Run("trusted certificate", func(t *testing.T) {
		box := imaptest.Mailbox(t, srv, testUser)
		opts := options(t, srv, box)
		opts.Host, opts.Port = proxy.hostPort()
		opts.Security = SecurityTLS
		opts.TLSConfig = &tls.Config{RootCAs: pool}
		start(t, New(opts, &recorder{}))
		imaptest.Append(t, srv, testUser, box, newMail("over tls", 100))
		imaptest.WaitFor(t, srv, testUser, opts.ProcessedMailbox, 1, waitLong)
	})
	t.Run("unknown certificate", func(t *testing.T) {
		box := imaptest.Mailbox(t, srv, testUser)
		var logs syncBuffer
		opts := options(t, srv, box)
		opts.Host, opts.Port = proxy.hostPort()
		opts.Security = SecurityTLS // system roots: the test's certificate is unknown
		opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		p := New(opts, &recorder{})
		start(t, p)
		eventually(t, "the refused certificate logged", func() bool {
			return strings.Contains(logs.String(), "certificate")
		})
		if p.Connected() {
			t.Error("connected to a server with an unknown certificate")
		}
	})
}

func TestBackoff_GrowsJitteredAndBounded(t *testing.T) {
	b := backoff{min: time.Second, max: 2 * time.Minute}
	prevCap := time.Duration(0)
	for i := range 20 {
		capNow := min(time.Second<<i, 2*time.Minute)
		d := b.next()
		if d < capNow/2 || d > capNow {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, capNow/2, capNow)
		}
		if capNow < prevCap {
			t.Errorf("cap shrank at %d", i)
		}
		prevCap = capNow
	}
	b.reset()
	if d := b.next(); d > time.Second || d < time.Second/2 {
		t.Errorf("after reset the wait is %v, want about a second", d)
	}
}

// literal is a literal whose size the server announced, as imapclient hands them.
type literal struct {
	*strings.Reader
	size int64
}

func (l literal) Size() int64 { return l.size }

func TestSpool(t *testing.T) {
	big := strings.Repeat("x", memSpoolBytes+1)
	tests := []struct {
		name      string
		in        string
		announced bool // the server gave the literal's size
		limit     int64
		want      []byte // nil: not kept
		inFile    bool
	}{
		{"under", "hello", false, 10, []byte("hello"), true},
		{"at", "hello", false, 5, []byte("hello"), true},
		{"over", "hello!", false, 5, nil, false},
		{"empty", "", false, 5, []byte{}, true},
		{"announced small: in memory", "hello", true, 10, []byte("hello"), false},
		{"announced over the limit: drained", "hello!", true, 5, nil, false},
		{"announced past the memory bound: a file", big, true, 2 * memSpoolBytes, []byte(big), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := &Poller{opts: Options{MaxMessageBytes: tt.limit, TempDir: dir}}
			sr := strings.NewReader(tt.in)
			var r io.Reader = struct{ io.Reader }{sr} // strings.Reader has a Size of its own
			if tt.announced {
				r = literal{sr, int64(len(tt.in))}
			}
			s, err := p.spool(r)
			if err != nil {
				t.Fatal(err)
			}
			if sr.Len() != 0 {
				t.Errorf("%d bytes of the literal left unread", sr.Len())
			}
			if (s.data == nil) != (tt.want == nil) || (s.file != nil) != tt.inFile {
				t.Fatalf("spool(%d bytes, %d): data %v, file %v; want data: %v, a file: %v", len(tt.in), tt.limit, s.data != nil, s.file != nil, tt.want != nil, tt.inFile)
			}
			if s.data != nil {
				got, err := io.ReadAll(io.NewSectionReader(s.data, 0, s.size))
				if err != nil || !bytes.Equal(got, tt.want) || s.size != int64(len(tt.want)) {
					t.Errorf("spool(%d bytes, %d) = %d bytes (size %d), %v; want %d bytes", len(tt.in), tt.limit, len(got), s.size, err, len(tt.want))
				}
			}
			s.close()
			// Nothing is left behind, whether the name went at once or on close.
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("files left in the temporary directory: %v", left)
			}
		})
	}
}

func TestDisposition_String(t *testing.T) {
	for d, want := range map[Disposition]string{Processed: "processed", Failed: "failed", 7: "Disposition(7)"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(d), got, want)
		}
	}
}

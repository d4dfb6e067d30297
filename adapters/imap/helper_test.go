package imap

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/imap/imaptest"
)

// testUser is the mail user whose mailboxes these tests use. Each test works in mailboxes of
// its own (imaptest.Mailbox); only the IDLE test reads testUser's INBOX, because Postfix
// delivers there, and it gives back any mail that is not its own.
const testUser = "staff2"

// waitLong bounds every wait on the real servers: a broken set-up fails instead of hanging.
// It is never a speed assertion.
const waitLong = 60 * time.Second

// options returns Options for the poller of testUser over box and its processed and failed
// mailboxes below it.
func options(t *testing.T, srv imaptest.Server, box string) Options {
	return Options{
		Host:             srv.Host(),
		Port:             srv.Port(),
		Security:         SecurityNone,
		Username:         testUser,
		Password:         imaptest.Password(testUser),
		Mailbox:          box,
		ProcessedMailbox: box + "/processed",
		FailedMailbox:    box + "/failed",
		IDLE:             true,
		PollInterval:     time.Hour, // only IDLE or a retry may start a round
		Logger:           slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// start runs p until the test ends, then checks that Run returned nil.
func start(t *testing.T, p *Poller) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after its context ended, want nil", err)
			}
		case <-time.After(waitLong):
			t.Errorf("Run did not return %s after its context ended", waitLong)
		}
	})
}

// eventually waits until cond holds, or fails the test after waitLong.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, waitLong)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recorder is a Handler that records the mails and answers with decide (Processed when nil).
type recorder struct {
	mu     sync.Mutex
	mails  []seenMail
	decide func(call int, m seenMail) (Disposition, string, error)
}

// seenMail is a mail as the handler got it, with its bytes read while its file existed.
type seenMail struct {
	Mail
	Raw []byte
}

var _ Handler = (*recorder)(nil)

func (r *recorder) HandleMail(_ context.Context, m Mail) (Disposition, string, error) {
	raw, err := io.ReadAll(io.NewSectionReader(m.Raw, 0, m.Size))
	if err != nil {
		return 0, "", err
	}
	r.mu.Lock()
	r.mails = append(r.mails, seenMail{Mail: m, Raw: raw})
	call := len(r.mails)
	decide := r.decide
	r.mu.Unlock()
	if decide == nil {
		return Processed, "", nil
	}
	return decide(call, seenMail{Mail: m, Raw: raw})
}

func (r *recorder) seen() []seenMail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seenMail(nil), r.mails...)
}

// newMail returns a small raw mail with a unique Message-ID and a body of about size bytes.
func newMail(subject string, size int) []byte {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "From: ann@helpdesk.test\r\nTo: %s@helpdesk.test\r\nSubject: %s\r\n", testUser, subject)
	fmt.Fprintf(&buf, "Message-ID: <%s@imap.test>\r\nDate: %s\r\n", hex.EncodeToString(b), time.Now().Format(time.RFC1123Z))
	buf.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	line := strings.Repeat("x", 76) + "\r\n"
	for buf.Len() < size {
		buf.WriteString(line)
	}
	buf.WriteString("end\r\n")
	return buf.Bytes()
}

func subject(raw []byte) string {
	for _, l := range strings.Split(string(raw), "\r\n") {
		if s, ok := strings.CutPrefix(l, "Subject: "); ok {
			return s
		}
		if l == "" {
			break
		}
	}
	return ""
}

// faultProxy is the in-process fault of these tests (docs/testing.md): a loopback TCP proxy in front
// of Dovecot whose connections the test cuts, since a real server cannot be told to drop one
// client on cue. It also counts the bytes the server sent, to show what was not fetched.
type faultProxy struct {
	ln         net.Listener
	target     string
	accepted   atomic.Int32
	fromServer atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveProxy(t, ln, target)
}

// newTLSProxy is a faultProxy that ends implicit TLS with cert in front of the plain
// Dovecot, so the poller's "tls" security is tested against the real server.
func newTLSProxy(t *testing.T, target string, cert tls.Certificate) *faultProxy {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	return serveProxy(t, ln, target)
}

func serveProxy(t *testing.T, ln net.Listener, target string) *faultProxy {
	p := &faultProxy{ln: ln, target: target}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.accepted.Add(1)
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(s, c); s.Close(); c.Close() }()
			go func() {
				defer wg.Done()
				_, _ = io.Copy(countingWriter{c, &p.fromServer}, s)
				s.Close()
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		wg.Wait()
	})
	return p
}

// cut closes every connection through the proxy; new ones are still accepted.
func (p *faultProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *faultProxy) hostPort() (string, int) {
	h, ps, _ := net.SplitHostPort(p.ln.Addr().String())
	n, _ := strconv.Atoi(ps)
	return h, n
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// syncBuffer is a bytes.Buffer safe for a logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "imap test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

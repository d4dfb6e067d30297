package smtp

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// tlsFront ends implicit TLS in front of the stack's plain Postfix, so that the "tls"
// security and the pipelined transaction over it meet the real server. The certificate is
// net/http/httptest's, for 127.0.0.1; the pool trusts it.
func tlsFront(t *testing.T, target string) (port int, roots *x509.CertPool) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert := ts.TLS.Certificates[0]
	roots = x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	ts.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	port, _ = serveListener(t, ln, func(c net.Conn) {
		defer c.Close()
		s, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			return
		}
		defer s.Close()
		go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
		_, _ = io.Copy(c, s)
	})
	return port, roots
}

func TestSend_ImplicitTLSToPostfix(t *testing.T) {
	s := liveStack(t)
	port, roots := tlsFront(t, net.JoinHostPort(s.smtpHost, strconv.Itoa(s.smtpPort)))
	snd, err := New(Options{Host: "127.0.0.1", Port: port, Security: SecurityTLS, From: "support@" + s.domain,
		HeloName: "helpdeskd.test", Timeout: 10 * time.Second, TLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	// Two mails on the one kept connection: the second follows the first's end of data.
	toks := []string{token(t), token(t)}
	for _, tok := range toks {
		if err := snd.Send(ctx, gateway.Outgoing{To: "ann@" + s.domain, Subject: tok, Text: "over tls", MessageID: tok + "@" + s.domain}); err != nil {
			t.Fatal(err)
		}
	}
	if state, err := keptConn(snd).GetTLSConnectionState(); err != nil || !state.HandshakeComplete {
		t.Errorf("kept connection: TLS %+v, %v; want a completed handshake", state, err)
	}
	if ok, _ := keptConn(snd).Extension("PIPELINING"); !ok {
		t.Error("Postfix does not offer PIPELINING here: the pipelined transaction went untested")
	}
	for _, tok := range toks {
		s.fetch(t, "ann", tok)
	}
}

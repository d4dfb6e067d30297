package smtp

import (
	"bufio"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// fakeSession plays an SMTP server on c: the greeting, then each command line handed to
// serve with its verb, until serve returns false or the client goes. say writes a reply at
// once; readData reads a message up to its end.
func fakeSession(c net.Conn, serve func(verb string, say func(string), readData func() bool) bool) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
	readData := func() bool {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return false
			}
			if l == ".\r\n" {
				return true
			}
		}
	}
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil || !serve(strings.ToUpper(strings.Fields(line + " x")[0]), say, readData) {
			return
		}
	}
}

// hangUpServer is an SMTP server that hangs up after every mail, once it has answered the
// end of its data: the way a server's idle timeout leaves a kept connection.
func hangUpServer(t *testing.T) (port int, accepted *atomic.Int64) {
	return acceptCounting(t, func(c net.Conn) {
		fakeSession(c, func(verb string, say func(string), readData func() bool) bool {
			switch verb {
			case "EHLO":
				say("250-fake\r\n250 8BITMIME")
			case "DATA":
				say("354 go on")
				if readData() {
					say("250 queued")
				}
				return false
			default:
				say("250 ok")
			}
			return true
		})
	})
}

// A connection used a moment ago is not asked NOOP first; when it died all the same, the
// mail goes on a new one rather than failing.
func TestSend_RecentlyUsedConnectionThatDiedIsReplaced(t *testing.T) {
	port, accepted := hangUpServer(t)
	defer sendMails(t, port, 3).Close()
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d connections for 3 mails, want one each", n)
	}
}

// sendMails sends n mails to the server on port with one Sender, failing the test at the
// first error, and returns the Sender.
func sendMails(t *testing.T, port, n int) *Sender {
	t.Helper()
	snd, err := New(Options{Host: "127.0.0.1", Port: port, Security: SecurityNone, From: "support@helpdesk.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := snd.Send(ctx, gateway.Outgoing{To: "ann@helpdesk.test", Subject: "x", Text: "x", MessageID: "fake@helpdesk.test"}); err != nil {
			t.Fatalf("mail %d of %d: %v", i+1, n, err)
		}
	}
	return snd
}

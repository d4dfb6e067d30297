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

// hangUpServer is an SMTP server that hangs up after every mail, once it has answered the
// end of its data: the way a server's idle timeout leaves a kept connection.
func hangUpServer(t *testing.T) (port int, accepted *atomic.Int64) {
	return acceptCounting(t, serveOneMail)
}

func serveOneMail(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
		case "EHLO":
			say("250-fake\r\n250 8BITMIME")
		case "DATA":
			say("354 go on")
			for l, err := r.ReadString('\n'); l != ".\r\n"; l, err = r.ReadString('\n') {
				if err != nil {
					return
				}
			}
			say("250 queued")
			return
		default:
			say("250 ok")
		}
	}
}

// A connection used a moment ago is not asked NOOP first; when it died all the same, the
// mail goes on a new one rather than failing.
func TestSend_RecentlyUsedConnectionThatDiedIsReplaced(t *testing.T) {
	port, accepted := hangUpServer(t)
	snd, err := New(Options{Host: "127.0.0.1", Port: port, Security: SecurityNone, From: "support@helpdesk.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	for i := range 3 {
		if err := snd.Send(ctx, gateway.Outgoing{To: "ann@helpdesk.test", Subject: "x", Text: "x", MessageID: "hang@helpdesk.test"}); err != nil {
			t.Fatalf("send %d on a connection the server hung up: %v, want a reconnect", i+1, err)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d connections for 3 mails, want one each", n)
	}
}

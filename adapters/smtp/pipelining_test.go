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

// groupServer offers PIPELINING and answers MAIL, RCPT and DATA only once all three have
// come: a client that waited for the reply to MAIL before sending RCPT would wait until
// its timeout. It counts the mails it accepted and the RSETs it was sent.
type groupServer struct {
	mails, resets atomic.Int64
}

func (g *groupServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
	say("220 fake ESMTP")
	var held []string // replies of the group so far
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
		case "EHLO":
			say("250-fake\r\n250-PIPELINING\r\n250 8BITMIME")
		case "MAIL", "RCPT":
			held = append(held, "250 ok")
		case "DATA":
			if len(held) != 2 {
				say("503 5.5.1 want MAIL and RCPT first")
				return
			}
			say(strings.Join(append(held, "354 go on"), "\r\n"))
			held = nil
			for l, err := r.ReadString('\n'); l != ".\r\n"; l, err = r.ReadString('\n') {
				if err != nil {
					return
				}
			}
			g.mails.Add(1)
			say("250 queued")
		case "RSET":
			g.resets.Add(1)
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// Where the server offers PIPELINING, a mail's MAIL, RCPT and DATA go together, and a
// delivered mail is followed by the next one, no RSET between them.
func TestSend_PipelinesTheCommandsOfAMail(t *testing.T) {
	g := &groupServer{}
	port, accepted := acceptCounting(t, g.serve)
	// The timeout bounds a client that waits for a reply this server withholds.
	snd, err := New(Options{Host: "127.0.0.1", Port: port, Security: SecurityNone, From: "support@helpdesk.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := snd.Send(ctx, gateway.Outgoing{To: "ann@helpdesk.test", Subject: "x", Text: "x", MessageID: "group@helpdesk.test"}); err != nil {
			t.Fatalf("mail %d: %v", i+1, err)
		}
	}
	if err := snd.Close(); err != nil {
		t.Fatal(err)
	}
	if n := g.mails.Load(); n != 3 {
		t.Errorf("%d mails accepted, want 3", n)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d connections, want the one kept", n)
	}
	if n := g.resets.Load(); n != 0 {
		t.Errorf("%d RSETs between delivered mails, want none", n)
	}
}

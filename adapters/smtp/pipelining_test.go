package smtp

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
)

// groupServer offers PIPELINING and answers MAIL, RCPT and DATA only once all three have
// come: a client that waited for the reply to MAIL before sending RCPT would wait until
// its timeout. It counts the mails it accepted and the RSETs it was sent.
type groupServer struct {
	mails, resets atomic.Int64
}

func (g *groupServer) serve(c net.Conn) {
	var held []string // replies of the group so far
	fakeSession(c, func(verb string, say func(string), readData func() bool) bool {
		switch verb {
		case "EHLO":
			say("250-fake\r\n250-PIPELINING\r\n250 8BITMIME")
		case "MAIL", "RCPT":
			held = append(held, "250 ok")
		case "DATA":
			if len(held) != 2 {
				say("503 5.5.1 want MAIL and RCPT first")
				return false
			}
			say(strings.Join(append(held, "354 go on"), "\r\n"))
			held = nil
			if !readData() {
				return false
			}
			g.mails.Add(1)
			say("250 queued")
		case "RSET":
			g.resets.Add(1)
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return false
		default:
			say("250 ok")
		}
		return true
	})
}

// Where the server offers PIPELINING, a mail's MAIL, RCPT and DATA go together, and a
// delivered mail is followed by the next one, no RSET between them.
func TestSend_PipelinesTheCommandsOfAMail(t *testing.T) {
	g := &groupServer{}
	port, accepted := acceptCounting(t, g.serve)
	// The timeout bounds a client that waits for a reply this server withholds.
	snd := sendMails(t, port, 3)
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

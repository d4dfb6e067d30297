// Package smtptest has an SMTP server for measurements: it accepts every mail and keeps
// none, so that what the daemon does is told apart from what a real server costs.
package smtptest

import (
	"bufio"
	"net"
	"strings"
	"sync/atomic"
)

// Sink is an SMTP server on loopback that accepts every mail and keeps none: measurements
// run against it as well as against a real server, so that the daemon's own rate is told
// apart from the server's (a loopback Postfix that delivers to Dovecot takes far fewer
// mails a second than the outbox can hand it).
type Sink struct {
	ln    net.Listener
	mails atomic.Int64
}

// StartSink starts a sink on 127.0.0.1 at a free port.
func StartSink() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s, nil
}

// Addr is the sink's host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Mails is how many mails the sink has accepted.
func (s *Sink) Mails() int64 { return s.mails.Load() }

// Close stops accepting connections.
func (s *Sink) Close() { s.ln.Close() }

// serve answers one connection: each command with the reply an accepting server gives. It
// offers PIPELINING, and as a pipelining server does (RFC 2920 §3.2) it sends its replies
// once it has answered every command it has read, not one write per reply.
func (s *Sink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	say := func(s string) bool {
		w.WriteString(s + "\r\n")
		return r.Buffered() > 0 || w.Flush() == nil
	}
	if !say("220 sink ESMTP") {
		return
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		var reply string
		switch verb {
		case "EHLO":
			reply = "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8"
		case "DATA":
			if !say("354 go on") {
				return
			}
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			s.mails.Add(1)
			reply = "250 2.0.0 queued"
		case "QUIT":
			say("221 bye")
			return
		default:
			reply = "250 ok"
		}
		if !say(reply) {
			return
		}
	}
}

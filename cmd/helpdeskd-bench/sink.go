package main

import (
	"bufio"
	"net"
	"strings"
)

// smtpSink is an SMTP server on loopback that accepts every mail and keeps none: the
// outbox cells run against it as well as against a real server, so that the dispatcher's
// own rate is told apart from the server's (a loopback Postfix that delivers to Dovecot
// takes far fewer mails a second than the outbox can hand it).
type smtpSink struct{ ln net.Listener }

func startSink() (*smtpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSink(c)
		}
	}()
	return &smtpSink{ln: ln}, nil
}

func (s *smtpSink) addr() string { return s.ln.Addr().String() }
func (s *smtpSink) close()       { s.ln.Close() }

// serveSink answers one connection: the commands go-mail sends, each with the reply an
// accepting server gives.
func serveSink(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	say := func(s string) bool {
		w.WriteString(s + "\r\n")
		return w.Flush() == nil
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
			reply = "250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8"
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

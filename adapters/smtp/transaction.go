package smtp

import (
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strings"

	gosmtp "github.com/wneessen/go-mail/smtp"
)

// replyError is a server's refusal of one step of a mail transaction: the connection is
// sound and in a state to start the next transaction.
type replyError struct {
	step  string // MAIL, RCPT, DATA or "end of data"
	reply *textproto.Error
}

func (e *replyError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.step, e.reply.Code, e.reply.Msg)
}

// brokenError is a transaction that ended without the server's answer (a write or read that
// failed, a reply that is not SMTP): the connection is of no further use. beforeReply says
// the server answered nothing of this transaction, so nothing of it can have been
// delivered.
type brokenError struct {
	step        string
	beforeReply bool
	err         error
}

func (e *brokenError) Error() string { return e.step + ": " + e.err.Error() }
func (e *brokenError) Unwrap() error { return e.err }

// transaction is one mail over a connection that has said EHLO: MAIL, RCPT and DATA, the
// message, and its end. Where the server offers PIPELINING (RFC 2920) the three commands go
// in one write and their replies are read after it, so a mail costs two round trips, not
// four; no RSET follows a delivered mail (RFC 5321 §4.1.4: the end of data ends the
// transaction), only a refused one.
func transaction(c *gosmtp.Client, from, to string, body io.WriterTo) error {
	mail := "MAIL FROM:<" + from + ">"
	if ok, _ := c.Extension("8BITMIME"); ok {
		mail += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok && !ascii(from+to) {
		mail += " SMTPUTF8"
	}
	steps := [...]struct {
		name, cmd string
		expect    int
	}{{"MAIL", mail, 250}, {"RCPT", "RCPT TO:<" + to + ">", 25}, {"DATA", "DATA", 354}}
	t := c.Text
	if pipelined, _ := c.Extension("PIPELINING"); pipelined {
		for _, st := range steps {
			_, _ = t.W.WriteString(st.cmd + "\r\n")
		}
		if err := t.W.Flush(); err != nil {
			return &brokenError{step: "MAIL", beforeReply: true, err: err}
		}
		// RFC 2920 §3.1: every reply is read, and a DATA accepted after a refused MAIL or
		// RCPT is given an empty message's end, not the message.
		var refused *replyError
		dataAccepted := false
		for i, st := range steps {
			_, _, err := t.ReadResponse(st.expect)
			if err == nil {
				dataAccepted = st.name == "DATA"
				continue
			}
			re, ok := asReply(err)
			if !ok {
				return &brokenError{step: st.name, beforeReply: i == 0, err: err}
			}
			if refused == nil {
				refused = &replyError{step: st.name, reply: re}
			}
		}
		if refused != nil {
			return afterRefusal(t, refused, dataAccepted)
		}
	} else {
		for i, st := range steps {
			if err := t.PrintfLine("%s", st.cmd); err != nil {
				return &brokenError{step: st.name, beforeReply: i == 0, err: err}
			}
			if _, _, err := t.ReadResponse(st.expect); err != nil {
				re, ok := asReply(err)
				if !ok {
					return &brokenError{step: st.name, beforeReply: i == 0, err: err}
				}
				return afterRefusal(t, &replyError{step: st.name, reply: re}, false)
			}
		}
	}
	w := t.DotWriter()
	if _, err := body.WriteTo(w); err != nil {
		return &brokenError{step: "message", err: err}
	}
	if err := w.Close(); err != nil {
		return &brokenError{step: "end of data", err: err}
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		if re, ok := asReply(err); ok {
			return &replyError{step: "end of data", reply: re}
		}
		return &brokenError{step: "end of data", err: err}
	}
	return nil
}

// afterRefusal ends a refused transaction: the empty message's end if DATA was accepted
// all the same, then RSET, so that the connection can carry the next mail. A connection
// that fails either is broken, and the refusal still says why the mail did not go.
func afterRefusal(t *textproto.Conn, refused *replyError, dataAccepted bool) error {
	if dataAccepted {
		if err := t.PrintfLine("."); err != nil {
			return &brokenError{step: refused.step, err: errors.Join(refused, err)}
		}
		if _, _, err := t.ReadResponse(0); err != nil {
			if _, ok := asReply(err); !ok {
				return &brokenError{step: refused.step, err: errors.Join(refused, err)}
			}
		}
	}
	if err := t.PrintfLine("RSET"); err != nil {
		return &brokenError{step: refused.step, err: errors.Join(refused, err)}
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		return &brokenError{step: refused.step, err: errors.Join(refused, err)}
	}
	return refused
}

// asReply returns err's SMTP reply, if the server gave one.
func asReply(err error) (*textproto.Error, bool) {
	var re *textproto.Error
	ok := errors.As(err, &re)
	return re, ok
}

// ascii reports s holds no byte past 7 bits.
func ascii(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= 0x80 }) < 0
}

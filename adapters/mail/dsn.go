package mail

import (
	"bufio"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// readDeliveryStatus reads a message/delivery-status part (RFC 3464 §2): a block of
// per-message fields, then one block per recipient. The report names the first recipient
// whose Action is "failed", else the first recipient.
func readDeliveryStatus(rep *gateway.DeliveryReport, r io.Reader) {
	br := bufio.NewReader(newLFReader(r))
	var first, failed *gateway.DeliveryReport
	for i := 0; i < maxReportBlocks; i++ {
		if _, err := br.Peek(1); err != nil {
			break
		}
		h, err := textproto.ReadHeader(br)
		if err != nil && h.Len() == 0 {
			continue // a malformed line was consumed; go on after it
		}
		if !h.Has("Action") && !h.Has("Final-Recipient") && !h.Has("Original-Recipient") {
			continue
		}
		rcpt := recipientOf(h.Get("Final-Recipient"))
		if rcpt == "" {
			rcpt = recipientOf(h.Get("Original-Recipient"))
		}
		d := &gateway.DeliveryReport{
			Action:    strings.ToLower(firstToken(h.Get("Action"))),
			Status:    firstToken(h.Get("Status")),
			Recipient: rcpt,
		}
		if first == nil {
			first = d
		}
		if failed == nil && d.Action == "failed" {
			failed = d
		}
	}
	pick := failed
	if pick == nil {
		pick = first
	}
	if pick != nil && rep.Action == "" && rep.Recipient == "" {
		rep.Action, rep.Status, rep.Recipient = pick.Action, pick.Status, pick.Recipient
	}
}

// recipientOf reads "rfc822; addr" (RFC 3464 §2.3.2).
func recipientOf(v string) string {
	if _, addr, ok := strings.Cut(v, ";"); ok {
		v = addr
	}
	v = strings.ToLower(strings.Trim(strings.TrimSpace(fix8bit(v)), "<>"))
	if !validAddress(v) {
		return ""
	}
	return v
}

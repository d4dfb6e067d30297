package mail_test

import (
	"fmt"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// Replies whose clients dropped or rewrote the usual threading headers still find their
// ticket: Outlook's reply with only Thread-Index, Apple Mail's with References in another
// order and another case, and nothing but the reply address.
func TestThreading_ClientsThatRewriteHeaders(t *testing.T) {
	d := newDesk(t)
	id := d.ticket(t)
	forged := mail.ThreadIndex([]byte("someone else's secret"), id)
	tests := []struct {
		name, header string
		wantReply    bool
	}{
		{"Outlook: Thread-Index only", "Thread-Index: " + mail.ThreadIndex(deskSecret, id) + "AAABLEA=\r\nThread-Topic: Site down\r\n", true},
		{"Apple Mail: References reordered, upper-cased", "References: <HELPDESKD.TICKET." + fmt.Sprint(id) + "@HELPDESK.TEST> <own-1@customer.test>\r\n", true},
		{"a forged Thread-Index", "Thread-Index: " + forged + "\r\n", false},
		{"no threading header at all", "", false},
	}
	for i, tt := range tests {
		raw := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Site down\r\nMessage-ID: <thr-%d@customer.test>\r\n%s\r\nStill down.\r\n",
			deskCustomer, deskSupport, i, tt.header)
		out := d.ingest(t, []byte(raw))
		if got := out.Result == gateway.ResultReply && out.TicketID == id; got != tt.wantReply {
			t.Errorf("%s: %+v, want a reply on #%d: %v", tt.name, out, id, tt.wantReply)
		}
	}
}

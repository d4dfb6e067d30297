package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/helpdeskd/helpdeskd/adapters/imap/imaptest"
)

// A staff member's From is easily forged, and a staff reply goes out to the customer under
// the desk's name. Through Dovecot into the running daemon: a forged staff mail is kept and
// listed as rejected, and so is one whose only Authentication-Results comes from a server we
// do not trust; one our receiving server vouches for (dmarc=pass) is applied, as is one with
// a DKIM signature the daemon verifies with the domain's key, but not once its body changed.
func TestEmail_ForgedStaffMail(t *testing.T) {
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	record := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	const domain = "helpdesk.test" // the staff address's domain
	cfg := emailConfig(t, s, t.TempDir(), s.SMTPAddr)
	cfg.Email.TrustedAuthservIDs = []string{"mx.helpdesk.test"}
	cfg.Email.VerifyDKIM = true
	d := startDesk(t, cfg, func(m *Main) {
		m.LookupTXT = func(name string) ([]string, error) {
			if name == "test._domainkey."+domain {
				return []string{record}, nil
			}
			return nil, fmt.Errorf("no TXT record for %s", name)
		}
	})
	provisionMail(t, d, s)
	cat, staff, support := s.Address("cat"), s.Address("staff"), s.Address("support")
	run := fmt.Sprint(time.Now().UnixNano())

	imaptest.Deliver(t, s.SMTPAddr, cat, support, compose(cat, support, "Billing question", "open-"+run+"@cat.helpdesk.test", "Why two invoices?"))
	tk := d.waitTickets(t, 1)[0]
	subject := fmt.Sprintf("Re: [#%d] Billing question", tk.ID)
	staffMail := func(name, text string, extra ...string) []byte {
		return compose(staff, support, subject, name+"-"+run+"@staff.helpdesk.test", text, extra...)
	}
	sign := func(raw []byte) []byte {
		var out bytes.Buffer
		if err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{Domain: domain, Selector: "test", Signer: key,
			HeaderKeys: []string{"From", "To", "Subject", "Message-ID"}}); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	signed := sign(staffMail("dkim", "Signed: please pay the second one only."))
	tampered := bytes.Replace(sign(staffMail("dkim-changed", "Signed: all is fine.")), []byte("all is fine."), []byte("pay to IBAN XX00 0000."), 1)
	mails := [][]byte{
		staffMail("forged", "Forged: pay to IBAN XX00 0000."),
		staffMail("untrusted", "Untrusted: pay to IBAN XX00 0000.", "Authentication-Results: mx.evil.test; dmarc=pass header.from="+domain),
		staffMail("below", "Below: pay to IBAN XX00 0000.",
			"Authentication-Results: relay.evil.test; none", "Authentication-Results: mx.helpdesk.test; dmarc=pass header.from="+domain),
		tampered,
	}
	imaptest.AppendAll(t, s, "support", "INBOX", mails)
	imaptest.WaitFor(t, s, "support", "helpdesk/processed", 1+len(mails), 2*mailWait)
	if n := len(d.ticket(t, tk.ID).Messages); n != 1 {
		t.Fatalf("an unproven staff mail reached the ticket: %+v", d.ticket(t, tk.ID).Messages)
	}
	var rejected []struct {
		Sender string `json:"sender"`
		Reason string `json:"reason"`
	}
	d.api(t, "GET", "/api/staff/InboundMail?result=rejected&limit=100", d.staffKey, nil, 200, &rejected)
	n := 0
	for _, r := range rejected {
		if r.Sender == staff && r.Reason == "staff mail not authenticated" {
			n++
		}
	}
	if n != len(mails) {
		t.Errorf("%d of %d unproven staff mails listed as rejected: %+v", n, len(mails), rejected)
	}
	// The staff address is told, once a day at most.
	waitMail(t, s, "staff", "Your message")

	imaptest.AppendAll(t, s, "support", "INBOX", [][]byte{
		staffMail("trusted", "Trusted: only the second invoice is due.", "Authentication-Results: mx.helpdesk.test; spf=pass; dmarc=pass header.from="+domain),
		signed,
	})
	got := d.waitMessages(t, tk.ID, 3)
	var texts []string
	for _, m := range got.Messages[1:] {
		if m.Author != "staff" {
			t.Errorf("applied as %s: %q", m.Author, m.Message)
		}
		texts = append(texts, m.Message)
	}
	all := strings.Join(texts, "|")
	if !strings.Contains(all, "Trusted: only the second invoice is due.") || !strings.Contains(all, "Signed: please pay the second one only.") {
		t.Errorf("proven staff mails applied as %q", texts)
	}
}

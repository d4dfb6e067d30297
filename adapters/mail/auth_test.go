package mail

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/dkim"
)

func TestAuthenticated_AuthenticationResults(t *testing.T) {
	a := Authentication{TrustedAuthservIDs: []string{"mx.helpdesk.test"}}
	tests := []struct {
		name, header string
		want         bool
	}{
		{"trusted dmarc pass", "Authentication-Results: mx.helpdesk.test; dmarc=pass header.from=customer.test\r\n", true},
		{"trusted id in another case", "Authentication-Results: MX.Helpdesk.Test; dmarc=pass header.from=customer.test\r\n", true},
		{"trusted dmarc fail", "Authentication-Results: mx.helpdesk.test; dmarc=fail header.from=customer.test\r\n", false},
		{"trusted aligned dkim pass", "Authentication-Results: mx.helpdesk.test; spf=fail; dkim=pass header.d=customer.test\r\n", true},
		{"trusted dkim pass of a parent domain", "Authentication-Results: mx.helpdesk.test; dkim=pass header.d=test\r\n", false},
		{"trusted dkim pass of another domain", "Authentication-Results: mx.helpdesk.test; dkim=pass header.d=evil.test\r\n", false},
		{"trusted spf pass only", "Authentication-Results: mx.helpdesk.test; spf=pass smtp.mailfrom=customer.test\r\n", false},
		{"untrusted dmarc pass", "Authentication-Results: evil.test; dmarc=pass header.from=customer.test\r\n", false},
		{"a forged trusted header below an untrusted one",
			"Authentication-Results: relay.other.test; none\r\nAuthentication-Results: mx.helpdesk.test; dmarc=pass header.from=customer.test\r\n", false},
		{"ours on top decides over a forged one below",
			"Authentication-Results: mx.helpdesk.test; dmarc=fail header.from=customer.test\r\nAuthentication-Results: mx.helpdesk.test; dmarc=pass header.from=customer.test\r\n", false},
		{"two of ours, the top one silent", "Authentication-Results: mx.helpdesk.test; none\r\nAuthentication-Results: mx.helpdesk.test; dmarc=pass\r\n", true},
		{"unparsable", "Authentication-Results: ;;;\r\n", false},
		{"none", "", false},
	}
	for _, tt := range tests {
		raw := []byte(tt.header + "From: ann@customer.test\r\nSubject: x\r\n\r\nbody\r\n")
		h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if got := authenticated(raw, h, "ann@customer.test", a); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	h, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader("Authentication-Results: mx.helpdesk.test; dmarc=pass\r\n\r\n")))
	if authenticated(nil, h, "ann@customer.test", Authentication{}) {
		t.Error("a header was trusted with no trusted authserv-id configured")
	}
}

// testDKIM signs mail as customer.test with a key of its own and answers the DNS lookup of
// that key, as the daemon's resolver would.
type testDKIM struct {
	key    ed25519.PrivateKey
	record string
}

func newTestDKIM(t *testing.T) *testDKIM {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testDKIM{key: priv, record: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
}

func (d *testDKIM) lookup(domain string) ([]string, error) {
	if domain == "sel._domainkey.customer.test" {
		return []string{d.record}, nil
	}
	return nil, fmt.Errorf("no TXT record for %s", domain)
}

func (d *testDKIM) sign(t *testing.T, raw []byte, domain string) []byte {
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{Domain: domain, Selector: "sel", Signer: d.key,
		HeaderKeys: []string{"From", "Subject", "To"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestAuthenticated_DKIM(t *testing.T) {
	k := newTestDKIM(t)
	a := Authentication{VerifyDKIM: true, LookupTXT: k.lookup}
	mail := []byte("From: ann@customer.test\r\nTo: support@helpdesk.test\r\nSubject: Reply\r\n\r\nStill down.\r\n")
	signed := k.sign(t, mail, "customer.test")
	tampered := bytes.Replace(signed, []byte("Still down."), []byte("Send me the invoice."), 1)
	tests := []struct {
		name string
		raw  []byte
		from string
		opts Authentication
		want bool
	}{
		{"signed", signed, "ann@customer.test", a, true},
		{"signed, a subdomain's From", signed, "ann@mail.customer.test", a, true},
		{"body changed", tampered, "ann@customer.test", a, false},
		{"another From domain", signed, "ann@other.test", a, false},
		{"unsigned", mail, "ann@customer.test", a, false},
		{"verification off", signed, "ann@customer.test", Authentication{LookupTXT: k.lookup}, false},
	}
	for _, tt := range tests {
		h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(tt.raw)))
		if err != nil {
			t.Fatal(err)
		}
		if got := authenticated(tt.raw, h, tt.from, tt.opts); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

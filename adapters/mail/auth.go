package mail

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
)

// Authentication says how a mail's From can be proven genuine. The zero value proves
// nothing: every mail is unauthenticated.
type Authentication struct {
	// TrustedAuthservIDs are the authserv-ids (lower case) of our own receiving servers.
	TrustedAuthservIDs []string
	// VerifyDKIM checks DKIM signatures here, looking the keys up with LookupTXT.
	VerifyDKIM bool
	// LookupTXT answers DNS TXT queries for DKIM keys; nil means the system resolver. Tests
	// put their own key here.
	LookupTXT func(domain string) ([]string, error)
}

// maxDKIMSignatures bounds the signatures verified per mail: each costs a DNS lookup and an
// RSA verification, and a sender can add as many as they like.
const maxDKIMSignatures = 5

// authenticated reports whether the From domain is proven: by an Authentication-Results
// header of one of our own servers, or by a DKIM signature aligned with it.
func authenticated(raw []byte, h textproto.Header, from string, a Authentication) bool {
	return authenticatedReader(bytes.NewReader(raw), h, from, a)
}

// authenticatedReader is authenticated of a mail read from raw, only when a DKIM signature
// is to be verified.
func authenticatedReader(raw io.Reader, h textproto.Header, from string, a Authentication) bool {
	_, domain, ok := strings.Cut(from, "@")
	if !ok || domain == "" {
		return false
	}
	domain = strings.ToLower(domain)
	if v, decided := trustedResults(h, domain, a.TrustedAuthservIDs); decided {
		return v
	}
	return a.VerifyDKIM && dkimAligned(raw, domain, a.LookupTXT)
}

// fromHeader reports whether from is the address of the From field itself: DMARC and DKIM
// speak of that field, not of a Sender or Reply-To it was taken from.
func fromHeader(h textproto.Header, from string) bool {
	for _, a := range addressList(h.Values("From")) {
		if a == from {
			return from != ""
		}
	}
	return false
}

// trustedResults reads the Authentication-Results fields our servers added. Anyone can write
// such a field, so only those above every other one count: a receiving server adds its own on
// top, and everything below it came with the mail. Of the trusted ones the topmost result that
// speaks of DMARC or of a DKIM signature of the From domain decides; decided is false when none
// does.
func trustedResults(h textproto.Header, domain string, trusted []string) (ok, decided bool) {
	if len(trusted) == 0 {
		return false, false
	}
	fields := h.FieldsByKey("Authentication-Results")
	for fields.Next() {
		id, results, err := authres.Parse(fields.Value())
		if err != nil || !isTrusted(strings.ToLower(id), trusted) {
			return false, false
		}
		dkimFailed := false
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DMARCResult:
				if r.From == "" || strings.EqualFold(r.From, domain) {
					return r.Value == authres.ResultPass, true
				}
			case *authres.DKIMResult:
				if !aligned(r.Domain, domain) {
					continue
				}
				if r.Value == authres.ResultPass {
					return true, true
				}
				dkimFailed = true
			}
		}
		if dkimFailed {
			return false, true
		}
	}
	return false, false
}

func isTrusted(id string, trusted []string) bool {
	for _, t := range trusted {
		if id == t {
			return true
		}
	}
	return false
}

// aligned is DMARC's relaxed alignment, simplified to suffixes: the signing domain is the
// From domain or a parent of it (example.com signs for mail.example.com). A bare top-level
// domain never aligns.
func aligned(signer, from string) bool {
	signer = strings.ToLower(strings.TrimSuffix(signer, "."))
	if signer == "" || !strings.Contains(signer, ".") {
		return false
	}
	return from == signer || strings.HasSuffix(from, "."+signer)
}

// dkimAligned verifies the mail's DKIM signatures and reports whether one that covers the
// From field and is aligned with its domain holds.
func dkimAligned(raw io.Reader, domain string, lookup func(string) ([]string, error)) bool {
	verifs, _ := dkim.VerifyWithOptions(raw, &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: maxDKIMSignatures})
	for _, v := range verifs {
		if v.Err != nil || !aligned(v.Domain, domain) {
			continue
		}
		for _, k := range v.HeaderKeys {
			if strings.EqualFold(k, "From") {
				return true
			}
		}
	}
	return false
}

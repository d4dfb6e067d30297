package httpapi

import (
	"bytes"
	"errors"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/core"
)

// fuzzMaxBody is the body limit of the fuzz targets: small, so that the over-limit path is
// reached too.
const fuzzMaxBody = 16 << 10

// checkDecodeError is what every decoder failure must be: a client error (400, 413 or 415)
// whose message and field list are printable UTF-8 with no control characters, whatever
// names the input carried — never an internal error.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return
	}
	switch code := core.ErrorCode(err); code {
	case core.EINVALID, core.ETOOLARGE, eUnsupportedMediaType:
	default:
		t.Fatalf("decoder answered %s (%v), want a client error", code, err)
	}
	texts := []string{core.ErrorMessage(err)}
	for _, f := range core.ErrorFields(err) {
		texts = append(texts, f.String())
	}
	for _, s := range texts {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("error text not printable UTF-8: %q", s)
		}
	}
}

// FuzzDecodeJSON feeds arbitrary bytes to the JSON body decoder with the request types of the
// customer and staff endpoints.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"subject":"Hi","description":"d","topic":1,"propertyId":5}`,
		`{"message":"x"}`,
		`{"message":"x","internal":true}`,
		`{"status":2}`,
		`{"subject":1}`,
		`{"topic":99999999999999999999}`,
		`{"propertyId":-1}`,
		`{"subject":"a"}{"subject":"b"}`,
		`{"\u0000\n\r":1}`,
		`[[[[[[[[[[]]]]]]]]]]`,
		`{"subject":"\ud800"}`,
		`null`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range []func() any{
			func() any { return &createTicketRequest{} },
			func() any { return &replyRequest{} },
			func() any { return &map[string]any{} },
		} {
			r := httptest.NewRequest("POST", "/api/Ticket", bytes.NewReader(body))
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, fuzzMaxBody)
			checkDecodeError(t, decodeJSONBody(r, dst()))
		}
	})
}

// FuzzReadForm feeds arbitrary multipart bodies (and boundaries) to the form reader of
// POST /api/Ticket, which stages the file part in a real blob store.
func FuzzReadForm(f *testing.F) {
	const b = "XyZ"
	for _, seed := range []string{
		"--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nHello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nd\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"\r\n\r\nx\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\ny\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\na\r\n--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nb\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"\x00evil\r\n\"\r\n\r\nx\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E2%80%AEtxt.exe\r\n\r\nx\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: form-data; name=\"topic\"\r\n\r\nMQ==\r\n--XyZ--\r\n",
		"--XyZ\r\n\r\n--XyZ",
		"--XyZ--",
		"",
	} {
		f.Add([]byte(seed), b)
	}
	db := teststore.Open(f)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{MaxAttachmentBytes: 1 << 10})
	s := &server{svc: svc, maxBody: fuzzMaxBody}
	fields := s.createTicketFields()
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		r := httptest.NewRequest("POST", "/api/Ticket", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=\""+strings.ReplaceAll(boundary, `"`, "")+"\"")
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, fuzzMaxBody)
		form, err := s.readForm(r, fields)
		checkDecodeError(t, err)
		if err != nil {
			return
		}
		for name, v := range form.values {
			limit, ok := fields[name]
			if !ok || int64(len(v)) > limit {
				t.Fatalf("field %q (%d bytes) accepted", name, len(v))
			}
		}
		if len(form.staged) > 1 {
			t.Fatalf("%d files staged, at most 1 allowed", len(form.staged))
		}
		for _, ref := range form.staged {
			if ref.Size > 1<<10 {
				t.Fatalf("file of %d bytes staged over the 1 KB limit", ref.Size)
			}
		}
	})
}

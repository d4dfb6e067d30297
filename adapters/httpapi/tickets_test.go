package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

func TestCreateTicket_JSON(t *testing.T) {
	e := newEnv(t)
	path := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)
	runes200 := strings.Repeat("日", 200)
	tests := []struct {
		name      string
		path      string
		key       string
		ct        string // "" means application/json
		body      string
		status    int
		field     string // an entry of errors must contain this
		message   string // the message must contain this
		wantTopic int
		wantProp  bool
	}{
		{name: "minimal", body: `{"subject":"Site down","description":"502 everywhere"}`, status: 201},
		{name: "with property and topic", body: `{"subject":"SSL","description":"TLS error","topic":4,"propertyId":11}`, status: 201, wantTopic: 4, wantProp: true},
		{name: "null property", body: `{"subject":"x","description":"y","propertyId":null}`, status: 201},
		{name: "subject of 200 multi-byte characters", body: `{"subject":"` + runes200 + `","description":"d"}`, status: 201},
		{name: "subject trimmed to 200", body: `{"subject":"  ` + runes200 + `  ","description":"d"}`, status: 201},
		{name: "subject of 201 multi-byte characters", body: `{"subject":"` + runes200 + `é","description":"d"}`, status: 400, field: "subject: must be at most 200 characters"},
		{name: "subject empty", body: `{"subject":"","description":"d"}`, status: 400, field: "subject: must not be empty"},
		{name: "subject whitespace", body: `{"subject":" \t\n ","description":"d"}`, status: 400, field: "subject: must not be empty"},
		{name: "subject missing", body: `{"description":"d"}`, status: 400, field: "subject: must not be empty"},
		{name: "description empty", body: `{"subject":"s","description":""}`, status: 400, field: "description: must not be empty"},
		{name: "description whitespace", body: `{"subject":"s","description":"   "}`, status: 400, field: "description: must not be empty"},
		{name: "both empty lists both", body: `{"subject":"","description":""}`, status: 400, field: "description: must not be empty", message: "and 1 more"},
		{name: "topic -1", body: `{"subject":"s","description":"d","topic":-1}`, status: 400, field: "topic: must be an integer from 0 to 5"},
		{name: "topic 6", body: `{"subject":"s","description":"d","topic":6}`, status: 400, field: "topic: must be an integer from 0 to 5"},
		{name: "topic 5", body: `{"subject":"s","description":"d","topic":5}`, status: 201, wantTopic: 5},
		{name: "topic string", body: `{"subject":"s","description":"d","topic":"x"}`, status: 400, field: "topic: must be an integer"},
		{name: "topic fraction", body: `{"subject":"s","description":"d","topic":1.5}`, status: 400, field: "topic: must be an integer"},
		{name: "topic huge", body: `{"subject":"s","description":"d","topic":1e40}`, status: 400, field: "topic: must be an integer"},
		{name: "subject number", body: `{"subject":5,"description":"d"}`, status: 400, field: "subject: must be a string"},
		{name: "propertyId string", body: `{"subject":"s","description":"d","propertyId":"11"}`, status: 400, field: "propertyId: must be an integer"},
		{name: "property of another account", body: `{"subject":"s","description":"d","propertyId":22}`, status: 400, message: "Invalid property", field: "propertyId"},
		{name: "unknown property", body: `{"subject":"s","description":"d","propertyId":999}`, status: 400, message: "Invalid property"},
		{name: "negative property", body: `{"subject":"s","description":"d","propertyId":-3}`, status: 400, field: "propertyId: must be a positive integer"},
		{name: "unknown field", body: `{"subject":"s","description":"d","priority":"high"}`, status: 400, field: "priority: unknown field"},
		{name: "malformed", body: `{"subject":"s",`, status: 400, field: "body: malformed JSON"},
		{name: "syntax error", body: `{"subject" "s"}`, status: 400, field: "body: malformed JSON"},
		{name: "trailing garbage", body: `{"subject":"s","description":"d"} x`, status: 400, field: "body: must hold exactly one JSON object"},
		{name: "two objects", body: `{"subject":"s","description":"d"}{}`, status: 400, field: "body: must hold exactly one JSON object"},
		{name: "array", body: `[]`, status: 400, field: "body: must be a JSON object"},
		{name: "empty body", body: ``, status: 400, field: "body: must not be empty"},
		{name: "text/plain", ct: "text/plain", body: `{"subject":"s","description":"d"}`, status: 415},
		{name: "form urlencoded", ct: "application/x-www-form-urlencoded", body: `subject=s&description=d`, status: 415},
		{name: "no content type", ct: "-", body: `{"subject":"s","description":"d"}`, status: 415},
		{name: "latin1 json", ct: "application/json; charset=iso-8859-1", body: `{"subject":"s","description":"d"}`, status: 415},
		{name: "utf-8 json", ct: "application/json; charset=UTF-8", body: `{"subject":"s","description":"d"}`, status: 201},
		{name: "accountId missing", path: "/api/Ticket", body: `{"subject":"s","description":"d"}`, status: 400, field: "accountId: is required"},
		{name: "accountId empty", path: "/api/Ticket?accountId=", body: `{"subject":"s","description":"d"}`, status: 400, field: "accountId: is required"},
		{name: "accountId not a number", path: "/api/Ticket?accountId=abc", body: `{"subject":"s","description":"d"}`, status: 400, field: "accountId: must be a positive integer"},
		{name: "accountId zero", path: "/api/Ticket?accountId=0", body: `{"subject":"s","description":"d"}`, status: 400, field: "accountId"},
		{name: "accountId negative", path: "/api/Ticket?accountId=-101", body: `{"subject":"s","description":"d"}`, status: 400, field: "accountId"},
		{name: "accountId overflows int64", path: "/api/Ticket?accountId=9223372036854775808", body: `{"subject":"s","description":"d"}`, status: 400, field: "accountId"},
		{name: "accountId twice", path: "/api/Ticket?accountId=101&accountId=202", body: `{"subject":"s","description":"d"}`, status: 400, field: "accountId: must be given once"},
		{name: "account of another customer", path: fmt.Sprintf("/api/Ticket?accountId=%d", acctB), body: `{"subject":"s","description":"d"}`, status: 403},
		{name: "account that does not exist", path: "/api/Ticket?accountId=999", body: `{"subject":"s","description":"d"}`, status: 403},
		{name: "staff in any account", key: "staff", path: fmt.Sprintf("/api/Ticket?accountId=%d", acctB), body: `{"subject":"s","description":"d"}`, status: 201},
		{name: "staff in a missing account", key: "staff", path: "/api/Ticket?accountId=999", body: `{"subject":"s","description":"d"}`, status: 404},
		{name: "body over the limit", body: `{"subject":"s","description":"` + strings.Repeat("a", testMaxBody) + `"}`, status: 413},
		{name: "no key", key: "-", body: `{"subject":"s","description":"d"}`, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.path
			if p == "" {
				p = path
			}
			key := e.alice
			switch tt.key {
			case "staff":
				key = e.staff
			case "-":
				key = ""
			}
			ct := tt.ct
			switch ct {
			case "":
				ct = "application/json"
			case "-":
				ct = ""
			}
			r := e.call("POST", p, key, ct, strings.NewReader(tt.body))
			expect(t, r, tt.status)
			if tt.field != "" && !r.hasError(tt.field) {
				t.Errorf("errors %q lack %q", r.env.Errors, tt.field)
			}
			if tt.message != "" && !strings.Contains(r.env.Message, tt.message) {
				t.Errorf("message %q lacks %q", r.env.Message, tt.message)
			}
			if tt.status != http.StatusCreated {
				return
			}
			if r.env.Message != "Ticket created successfully." {
				t.Errorf("message %q", r.env.Message)
			}
			if r.env.PageNumber != 0 || r.env.PageSize != 0 || r.env.TotalPages != 0 || r.env.TotalRecords != 0 {
				t.Errorf("paging fields set on a single record: %s", r.body)
			}
			var d ticketData
			r.data(t, &d)
			if d.ID <= 0 || d.Status != 0 || d.Topic != tt.wantTopic {
				t.Errorf("data %+v", d)
			}
			if loc := r.header.Get("Location"); !strings.HasPrefix(loc, fmt.Sprintf("/api/Ticket/%d?accountId=", d.ID)) {
				t.Errorf("Location %q", loc)
			}
			if tt.wantProp {
				if d.PropertyID == nil || *d.PropertyID != propA || d.PropertyName == nil || *d.PropertyName != "example.com" {
					t.Errorf("property %s", r.env.Data)
				}
			} else if string(r.raw["data"]) == "" || !strings.Contains(string(r.env.Data), `"propertyId":null`) || !strings.Contains(string(r.env.Data), `"propertyName":null`) {
				t.Errorf("want null property: %s", r.env.Data)
			}
		})
	}
}

func TestCreateTicket_Multipart(t *testing.T) {
	e := newEnv(t)
	path := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)
	tests := []struct {
		name      string
		parts     []part
		status    int
		field     string
		wantFiles int
	}{
		{name: "fields only", parts: []part{field("subject", "s"), field("description", "d")}, status: 201},
		{name: "with file", parts: []part{field("subject", "s"), field("description", "d"), field("topic", "3"), field("propertyId", "11"), filePart("log.txt", "text/plain", "hello")}, status: 201, wantFiles: 1},
		{name: "file first", parts: []part{filePart("a.bin", "application/octet-stream", "xyz"), field("subject", "s"), field("description", "d")}, status: 201, wantFiles: 1},
		{name: "empty file part (none chosen)", parts: []part{field("subject", "s"), field("description", "d"), filePart("", "application/octet-stream", "")}, status: 201},
		{name: "file at the limit", parts: []part{field("subject", "s"), field("description", "d"), filePart("max.bin", "", strings.Repeat("x", testMaxAttachment))}, status: 201, wantFiles: 1},
		{name: "file over the limit", parts: []part{field("subject", "s"), field("description", "d"), filePart("big.bin", "", strings.Repeat("x", testMaxAttachment+1))}, status: 413, field: "file: larger than 1 KB"},
		{name: "two files", parts: []part{field("subject", "s"), field("description", "d"), filePart("a", "", "1"), filePart("b", "", "2")}, status: 400, field: "file: only one file may be attached"},
		{name: "unknown field", parts: []part{field("subject", "s"), field("description", "d"), field("priority", "high")}, status: 400, field: "priority: unknown field"},
		{name: "field twice", parts: []part{field("subject", "s"), field("subject", "t"), field("description", "d")}, status: 400, field: "subject: must be given once"},
		{name: "topic not a number", parts: []part{field("subject", "s"), field("description", "d"), field("topic", "x")}, status: 400, field: "topic: must be an integer"},
		{name: "topic 6", parts: []part{field("subject", "s"), field("description", "d"), field("topic", "6")}, status: 400, field: "topic: must be an integer from 0 to 5"},
		{name: "empty propertyId is none", parts: []part{field("subject", "s"), field("description", "d"), field("propertyId", "")}, status: 201},
		{name: "propertyId not a number", parts: []part{field("subject", "s"), field("description", "d"), field("propertyId", "abc")}, status: 400, field: "propertyId: must be an integer"},
		{name: "property of another account", parts: []part{field("subject", "s"), field("description", "d"), field("propertyId", "22")}, status: 400, field: "propertyId"},
		{name: "subject empty", parts: []part{field("subject", ""), field("description", "d")}, status: 400, field: "subject: must not be empty"},
		{name: "subject over the field limit", parts: []part{field("subject", strings.Repeat("s", 5000)), field("description", "d")}, status: 400, field: "subject: too long"},
		{name: "description missing", parts: []part{field("subject", "s")}, status: 400, field: "description: must not be empty"},
		{name: "body over the limit", parts: []part{field("subject", "s"), field("description", strings.Repeat("d", testMaxBody))}, status: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := multipartBody(t, tt.parts...)
			r := e.call("POST", path, e.alice, ct, body)
			expect(t, r, tt.status)
			if tt.field != "" && !r.hasError(tt.field) {
				t.Errorf("errors %q lack %q", r.env.Errors, tt.field)
			}
			if tt.status != http.StatusCreated {
				return
			}
			var d ticketData
			r.data(t, &d)
			got := e.detail(e.alice, acctA, d.ID)
			if n := len(got.Messages[0].Attachments); n != tt.wantFiles {
				t.Errorf("%d attachments, want %d", n, tt.wantFiles)
			}
		})
	}

	t.Run("malformed multipart", func(t *testing.T) {
		r := e.call("POST", path, e.alice, "multipart/form-data; boundary=XYZ", strings.NewReader("--XYZ\r\nnot a header\r\n\r\n"))
		expect(t, r, http.StatusBadRequest)
	})
	t.Run("multipart without boundary", func(t *testing.T) {
		r := e.call("POST", path, e.alice, "multipart/form-data", strings.NewReader("x"))
		expect(t, r, http.StatusBadRequest)
	})
}

// chunked hides a body's length, so the server learns it only by reading.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestBodyLimit_WithoutContentLength(t *testing.T) {
	// An attachment limit above the body limit, so that the body limit is what stops the file.
	e := newEnv(t, func(c *core.Options, h *httpapi.Options) {
		c.MaxAttachmentBytes = 4 * testMaxBody
	})
	path := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)

	t.Run("json", func(t *testing.T) {
		body := `{"subject":"s","description":"` + strings.Repeat("a", 2*testMaxBody) + `"}`
		r := e.call("POST", path, e.alice, "application/json", chunked{strings.NewReader(body)})
		expect(t, r, http.StatusRequestEntityTooLarge)
		if !strings.Contains(r.env.Message, "Request body is too large") {
			t.Errorf("message %q", r.env.Message)
		}
	})
	t.Run("multipart file", func(t *testing.T) {
		ct, body := multipartBody(t, field("subject", "s"), field("description", "d"), filePart("big.bin", "", strings.Repeat("x", 2*testMaxBody)))
		r := e.call("POST", path, e.alice, ct, chunked{body})
		expect(t, r, http.StatusRequestEntityTooLarge)
	})
}

func TestAttachment_Download(t *testing.T) {
	e := newEnv(t)
	content := "secret bytes\x00\x01"
	// A hostile name: a path, a quote and a newline (RFC 2231-encoded, as a client could send
	// it), and a non-ASCII character.
	hostile := part{name: "file", contentType: "text/html; charset=utf-8", value: content,
		rawDisposition: `form-data; name="file"; filename*=UTF-8''..%2F..%2Fetc%2F%22pass%0D%0Awd%E2%82%AC.html`}
	ct, body := multipartBody(t, field("subject", "with file"), field("description", "see file"), hostile)
	r := e.call("POST", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), e.alice, ct, body)
	expect(t, r, http.StatusCreated)
	var created ticketData
	r.data(t, &created)

	d := e.detail(e.alice, acctA, created.ID)
	if len(d.Messages) != 1 || len(d.Messages[0].Attachments) != 1 {
		t.Fatalf("messages %+v", d.Messages)
	}
	att := d.Messages[0].Attachments[0]
	if att.FileName != "passwd€.html" || att.Size != int64(len(content)) || att.ContentType != "text/html; charset=utf-8" {
		t.Errorf("attachment %+v", att)
	}

	res := e.request("GET", fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", created.ID, att.ID, acctA), e.alice, "", nil)
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(got) != content {
		t.Fatalf("download %d %q", res.StatusCode, got)
	}
	h := res.Header
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", h.Get("X-Content-Type-Options"))
	}
	if h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
	if h.Get("Content-Length") != fmt.Sprint(len(content)) {
		t.Errorf("Content-Length %q", h.Get("Content-Length"))
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
	}
	cd := h.Get("Content-Disposition")
	if strings.ContainsAny(cd, "\r\n/") {
		t.Errorf("Content-Disposition %q carries a path or a line break", cd)
	}
	disp, params, err := mime.ParseMediaType(cd)
	if err != nil || disp != "attachment" {
		t.Fatalf("Content-Disposition %q: %v", cd, err)
	}
	// mime decodes filename* into "filename", preferring it to the ASCII fallback.
	if params["filename"] != "passwd€.html" {
		t.Errorf("filename %q in %q", params["filename"], cd)
	}
	if !strings.Contains(cd, `filename=passwd_.html;`) || !strings.Contains(cd, "filename*=UTF-8''passwd%E2%82%AC.html") {
		t.Errorf("Content-Disposition %q lacks the ASCII fallback or filename*", cd)
	}
}

func TestAttachment_Isolation(t *testing.T) {
	e := newEnv(t)
	upload := func(key string, account int64) (ticket, att int64) {
		ct, body := multipartBody(t, field("subject", "s"), field("description", "d"), filePart("f.txt", "text/plain", "data"))
		r := e.call("POST", fmt.Sprintf("/api/Ticket?accountId=%d", account), key, ct, body)
		expect(t, r, http.StatusCreated)
		var d ticketData
		r.data(t, &d)
		det := e.detail(key, account, d.ID)
		return d.ID, det.Messages[0].Attachments[0].ID
	}
	aTicket, aAtt := upload(e.alice, acctA)
	bTicket, bAtt := upload(e.bob, acctB)
	plain, _ := upload(e.alice, acctA)

	tests := []struct {
		name   string
		key    string
		path   string
		status int
	}{
		{"own", e.alice, fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", aTicket, aAtt, acctA), 200},
		{"other account's ticket and attachment", e.alice, fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", bTicket, bAtt, acctA), 404},
		{"other account's attachment through an own ticket", e.alice, fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", aTicket, bAtt, acctA), 404},
		{"attachment of another own ticket", e.alice, fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", plain, aAtt, acctA), 404},
		{"other account named", e.alice, fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", bTicket, bAtt, acctB), 403},
		{"unknown attachment", e.alice, fmt.Sprintf("/api/Ticket/%d/Attachment/99999?accountId=%d", aTicket, acctA), 404},
		{"non-numeric attachment", e.alice, fmt.Sprintf("/api/Ticket/%d/Attachment/x?accountId=%d", aTicket, acctA), 400},
		{"no accountId", e.alice, fmt.Sprintf("/api/Ticket/%d/Attachment/%d", aTicket, aAtt), 400},
		{"no key", "", fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", aTicket, aAtt, acctA), 401},
		{"staff", e.staff, fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", bTicket, bAtt, acctB), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.request("GET", tt.path, tt.key, "", nil)
			if tt.status == http.StatusOK {
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				if res.StatusCode != 200 || string(b) != "data" {
					t.Fatalf("%d %q", res.StatusCode, b)
				}
				return
			}
			expect(t, e.decode(res), tt.status)
		})
	}
}

func TestGetTicket(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"subject": "  Padded  ", "description": "First", "topic": 1, "propertyId": propA})
	bobsTicket := e.createTicket(e.bob, acctB, nil)

	d := e.detail(e.alice, acctA, id)
	if d.ID != id || d.AccountID != acctA || d.UserID != aliceID || d.Subject != "Padded" || d.Description != "First" ||
		d.Status != 0 || d.Topic != 1 || *d.PropertyID != propA || *d.PropertyName != "example.com" || d.MessageCount != 1 {
		t.Errorf("detail %+v", d)
	}
	for _, ts := range []string{d.CreatedAt, d.UpdatedAt} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Errorf("time %q is not RFC 3339 UTC", ts)
		}
	}
	m := d.Messages[0]
	if m.Author != "customer" || m.Channel != "api" || m.Message != "First" || m.Internal || m.Hidden || m.Attachments == nil {
		t.Errorf("first message %+v", m)
	}
	if len(d.History) != 1 || d.History[0].Kind != "created" || d.History[0].From != nil || d.History[0].To == nil || *d.History[0].To != 0 ||
		d.History[0].ActorUserID == nil || *d.History[0].ActorUserID != aliceID {
		t.Errorf("history %+v", d.History)
	}

	tests := []struct {
		name   string
		key    string
		path   string
		status int
		field  string
	}{
		{"another account's real ticket", e.alice, fmt.Sprintf("/api/Ticket/%d?accountId=%d", bobsTicket, acctA), 404, ""},
		{"own ticket under another account", e.bob, fmt.Sprintf("/api/Ticket/%d?accountId=%d", id, acctB), 404, ""},
		{"unknown ticket", e.alice, fmt.Sprintf("/api/Ticket/99999?accountId=%d", acctA), 404, ""},
		{"non-numeric id", e.alice, fmt.Sprintf("/api/Ticket/abc?accountId=%d", acctA), 400, "id: must be a positive integer"},
		{"zero id", e.alice, fmt.Sprintf("/api/Ticket/0?accountId=%d", acctA), 400, "id"},
		{"id and accountId both bad", e.alice, "/api/Ticket/abc", 400, "accountId: is required"},
		{"account not the user's", e.alice, fmt.Sprintf("/api/Ticket/%d?accountId=%d", bobsTicket, acctB), 403, ""},
		{"staff sees any account", e.staff, fmt.Sprintf("/api/Ticket/%d?accountId=%d", bobsTicket, acctB), 200, ""},
		{"staff still scoped to the account named", e.staff, fmt.Sprintf("/api/Ticket/%d?accountId=%d", bobsTicket, acctA), 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.json("GET", tt.path, tt.key, nil)
			expect(t, r, tt.status)
			if tt.field != "" && !r.hasError(tt.field) {
				t.Errorf("errors %q lack %q", r.env.Errors, tt.field)
			}
		})
	}
}

func TestListTickets(t *testing.T) {
	e := newEnv(t)
	var ids []int64
	for i := range 5 {
		body := map[string]any{"subject": fmt.Sprintf("t%d", i), "topic": i % 2}
		if i == 4 {
			body["propertyId"] = propA
		}
		ids = append(ids, e.createTicket(e.alice, acctA, body))
	}
	e.createTicket(e.bob, acctB, nil)
	expect(t, e.json("POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=%d", ids[1], acctA), e.alice, nil), 200)

	type item struct {
		ticketData
		CreatedAt    string `json:"createdAt"`
		UpdatedAt    string `json:"updatedAt"`
		MessageCount int    `json:"messageCount"`
	}
	list := func(t *testing.T, query string, wantIDs []int64, pageNumber, pageSize, totalPages, total int) {
		t.Helper()
		r := e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d%s", acctA, query), e.alice, nil)
		expect(t, r, 200)
		var items []item
		r.data(t, &items)
		var got []int64
		for _, it := range items {
			got = append(got, it.ID)
			if it.MessageCount != 1 || it.CreatedAt == "" || it.UpdatedAt == "" {
				t.Errorf("item %+v", it)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(wantIDs) {
			t.Errorf("ids %v, want %v", got, wantIDs)
		}
		if r.env.PageNumber != pageNumber || r.env.PageSize != pageSize || r.env.TotalPages != totalPages || r.env.TotalRecords != total {
			t.Errorf("paging %d/%d/%d/%d, want %d/%d/%d/%d", r.env.PageNumber, r.env.PageSize, r.env.TotalPages, r.env.TotalRecords,
				pageNumber, pageSize, totalPages, total)
		}
	}
	newestFirst := []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}
	t.Run("newest first with defaults", func(t *testing.T) { list(t, "", newestFirst, 1, 20, 1, 5) })
	t.Run("page 1 of 2", func(t *testing.T) { list(t, "&pageSize=3", newestFirst[:3], 1, 3, 2, 5) })
	t.Run("page 2 of 2", func(t *testing.T) { list(t, "&pageSize=3&pageNumber=2", newestFirst[3:], 2, 3, 2, 5) })
	t.Run("page past the end", func(t *testing.T) { list(t, "&pageSize=3&pageNumber=3", nil, 3, 3, 2, 5) })
	t.Run("status filter", func(t *testing.T) { list(t, "&status=3", []int64{ids[1]}, 1, 20, 1, 1) })
	t.Run("topic filter", func(t *testing.T) { list(t, "&topic=1", []int64{ids[3], ids[1]}, 1, 20, 1, 2) })
	t.Run("property filter", func(t *testing.T) { list(t, fmt.Sprintf("&propertyId=%d", propA), []int64{ids[4]}, 1, 20, 1, 1) })
	t.Run("filters combine", func(t *testing.T) { list(t, "&status=0&topic=0", []int64{ids[4], ids[2], ids[0]}, 1, 20, 1, 3) })
	t.Run("empty", func(t *testing.T) { list(t, "&topic=5", nil, 1, 20, 0, 0) })

	bad := []struct{ query, field string }{
		{"&status=x", "status: must be an integer"},
		{"&status=9", "status: must be an integer from 0 to 3"},
		{"&topic=x", "topic: must be an integer"},
		{"&topic=-1", "topic: must be an integer from 0 to 5"},
		{"&propertyId=x", "propertyId: must be an integer"},
		{"&pageNumber=x", "pageNumber: must be an integer"},
		{"&pageNumber=-1", "pageNumber: must be at least 1"},
		{"&pageNumber=99999999999", "pageNumber: must be an integer"},
		{"&pageSize=101", "pageSize: must be from 1 to 100"},
		{"&pageSize=-5", "pageSize: must be from 1 to 100"},
		{"&pageSize=y&topic=z", "topic: must be an integer"},
	}
	for _, b := range bad {
		t.Run("bad "+b.query, func(t *testing.T) {
			r := e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d%s", acctA, b.query), e.alice, nil)
			expect(t, r, 400)
			if !r.hasError(b.field) {
				t.Errorf("errors %q lack %q", r.env.Errors, b.field)
			}
		})
	}
	t.Run("accountId missing", func(t *testing.T) {
		r := e.json("GET", "/api/Ticket", e.alice, nil)
		expect(t, r, 400)
		if !r.hasError("accountId: is required") {
			t.Errorf("errors %q", r.env.Errors)
		}
	})
	t.Run("another account", func(t *testing.T) {
		expect(t, e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d", acctB), e.alice, nil), 403)
	})
}

func TestReply(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	path := fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", id, acctA)

	t.Run("json", func(t *testing.T) {
		r := e.json("POST", path, e.alice, map[string]any{"message": "More detail"})
		expect(t, r, 201)
		if r.env.Message != "Reply added successfully." {
			t.Errorf("message %q", r.env.Message)
		}
		var m messageData
		r.data(t, &m)
		if m.ID <= 0 || m.Author != "customer" || m.Channel != "api" || m.Message != "More detail" || m.Internal || m.Attachments == nil {
			t.Errorf("reply %+v", m)
		}
	})
	t.Run("multipart with file", func(t *testing.T) {
		ct, body := multipartBody(t, field("message", "screenshot"), filePart("shot.png", "image/png", "\x89PNG"))
		r := e.call("POST", path, e.alice, ct, body)
		expect(t, r, 201)
		var m messageData
		r.data(t, &m)
		if len(m.Attachments) != 1 || m.Attachments[0].FileName != "shot.png" || m.Attachments[0].Size != 4 || m.Attachments[0].ContentType != "image/png" {
			t.Errorf("reply %+v", m)
		}
	})
	t.Run("multipart file only", func(t *testing.T) {
		ct, body := multipartBody(t, filePart("only.txt", "text/plain", "x"))
		expect(t, e.call("POST", path, e.alice, ct, body), 201)
	})

	bad := []struct {
		name, ct, body string
		status         int
		field          string
	}{
		{"empty message", "application/json", `{"message":""}`, 400, "message: must not be empty"},
		{"whitespace message", "application/json", `{"message":"  "}`, 400, "message: must not be empty"},
		{"wrong type", "application/json", `{"message":1}`, 400, "message: must be a string"},
		{"internal from a customer is unknown", "application/json", `{"message":"x","internal":true}`, 400, "internal: unknown field"},
		{"text/plain", "text/plain", `hi`, 415, ""},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			r := e.call("POST", path, e.alice, b.ct, strings.NewReader(b.body))
			expect(t, r, b.status)
			if b.field != "" && !r.hasError(b.field) {
				t.Errorf("errors %q lack %q", r.env.Errors, b.field)
			}
		})
	}
	t.Run("file over the limit", func(t *testing.T) {
		ct, body := multipartBody(t, field("message", "m"), filePart("big", "", strings.Repeat("x", testMaxAttachment+1)))
		expect(t, e.call("POST", path, e.alice, ct, body), 413)
	})
	t.Run("another account's ticket", func(t *testing.T) {
		bobs := e.createTicket(e.bob, acctB, nil)
		r := e.json("POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", bobs, acctA), e.alice, map[string]any{"message": "x"})
		expect(t, r, 404)
	})
	t.Run("closed", func(t *testing.T) {
		expect(t, e.json("POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=%d", id, acctA), e.alice, nil), 200)
		r := e.json("POST", path, e.alice, map[string]any{"message": "again"})
		expect(t, r, 409)
		if !strings.Contains(r.env.Message, "closed") {
			t.Errorf("message %q", r.env.Message)
		}
	})
	if d := e.detail(e.alice, acctA, id); d.MessageCount != 4 || len(d.Messages) != 4 {
		t.Errorf("messageCount %d, %d messages, want 4", d.MessageCount, len(d.Messages))
	}
}

func TestReply_ToResolvedReopens(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.staff, map[string]any{"status": 2}), 200)
	expect(t, e.json("POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", id, acctA), e.alice, map[string]any{"message": "still broken"}), 201)
	d := e.detail(e.alice, acctA, id)
	if d.Status != 0 {
		t.Fatalf("status %d, want 0 (Open)", d.Status)
	}
	last := d.History[len(d.History)-1]
	if last.Kind != "status" || *last.From != 2 || *last.To != 0 || *last.ActorUserID != aliceID {
		t.Errorf("last history entry %+v", last)
	}
}

func TestClose_Twice(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"propertyId": propA})
	path := fmt.Sprintf("/api/Ticket/%d/Close?accountId=%d", id, acctA)
	for i := range 2 {
		r := e.json("POST", path, e.alice, nil)
		expect(t, r, 200)
		var d ticketData
		r.data(t, &d)
		if d.ID != id || d.Status != 3 || d.PropertyName == nil || *d.PropertyName != "example.com" || r.env.Message != "Ticket closed successfully." {
			t.Errorf("close %d: %s", i+1, r.body)
		}
	}
	if d := e.detail(e.alice, acctA, id); len(d.History) != 2 {
		t.Errorf("history %+v, want created and one close", d.History)
	}
	expect(t, e.json("POST", fmt.Sprintf("/api/Ticket/99999/Close?accountId=%d", acctA), e.alice, nil), 404)
}

func TestInternalNotes_HiddenFromCustomers(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	r := e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, map[string]any{"message": "customer is on the old plan", "internal": true})
	expect(t, r, 201)
	var note messageData
	r.data(t, &note)
	if !note.Internal || note.Author != "staff" || r.env.Message != "Internal note added successfully." {
		t.Errorf("note %s", r.body)
	}
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, map[string]any{"message": "We are on it."}), 201)

	d := e.detail(e.alice, acctA, id)
	if len(d.Messages) != 2 || d.MessageCount != 2 {
		t.Fatalf("customer sees %d messages, count %d, want 2", len(d.Messages), d.MessageCount)
	}
	for _, m := range d.Messages {
		if m.Internal || strings.Contains(m.Message, "old plan") {
			t.Errorf("customer sees internal note %+v", m)
		}
	}
	r = e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), e.alice, nil)
	expect(t, r, 200)
	if !strings.Contains(string(r.env.Data), `"messageCount":2`) {
		t.Errorf("list counts the note: %s", r.env.Data)
	}
	if d := e.detail(e.staff, acctA, id); len(d.Messages) != 3 || d.MessageCount != 3 || !d.Messages[1].Internal {
		t.Errorf("staff sees %d messages, count %d", len(d.Messages), d.MessageCount)
	}
	if d.Status != 0 {
		t.Errorf("status %d after staff reply, want Open", d.Status)
	}
}

func TestProperties(t *testing.T) {
	e := newEnv(t)
	r := e.json("GET", fmt.Sprintf("/api/Property?accountId=%d", acctA), e.alice, nil)
	expect(t, r, 200)
	if string(r.env.Data) != `[{"id":11,"name":"example.com"}]` {
		t.Errorf("data %s", r.env.Data)
	}
	if r.env.PageNumber != 1 || r.env.PageSize != 1 || r.env.TotalPages != 1 || r.env.TotalRecords != 1 {
		t.Errorf("paging %s", r.body)
	}
	expect(t, e.json("GET", fmt.Sprintf("/api/Property?accountId=%d", acctB), e.alice, nil), 403)
	expect(t, e.json("GET", "/api/Property", e.alice, nil), 400)
}

func TestTopicsAndStatuses(t *testing.T) {
	e := newEnv(t)
	r := e.json("GET", "/api/Ticket/Topics", e.alice, nil)
	expect(t, r, 200)
	want := `[{"value":0,"name":"General","label":"General"},{"value":1,"name":"Networking","label":"Networking"},` +
		`{"value":2,"name":"Rules","label":"Rules"},{"value":3,"name":"Billing","label":"Billing"},` +
		`{"value":4,"name":"SSL","label":"SSL / Certificates"},{"value":5,"name":"Performance","label":"Performance"}]`
	if string(r.env.Data) != want {
		t.Errorf("topics %s", r.env.Data)
	}
	if r.env.TotalRecords != 6 {
		t.Errorf("paging %s", r.body)
	}
	r = e.json("GET", "/api/Ticket/Statuses", e.alice, nil)
	expect(t, r, 200)
	want = `[{"value":0,"name":"Open","label":"Open"},{"value":1,"name":"InProgress","label":"In Progress"},` +
		`{"value":2,"name":"Resolved","label":"Resolved"},{"value":3,"name":"Closed","label":"Closed"}]`
	if string(r.env.Data) != want {
		t.Errorf("statuses %s", r.env.Data)
	}
	expect(t, e.json("GET", "/api/Ticket/Topics", "", nil), 401)
}

func TestTelegramLink(t *testing.T) {
	t.Run("not enabled", func(t *testing.T) {
		e := newEnv(t)
		r := e.json("POST", fmt.Sprintf("/api/Telegram/Link?accountId=%d", acctA), e.alice, nil)
		expect(t, r, 503)
		if r.env.Message != "Telegram is not enabled." {
			t.Errorf("message %q", r.env.Message)
		}
	})
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	var linked int64
	e := newEnv(t, func(_ *core.Options, h *httpapi.Options) {
		h.TelegramBot = "@helpdesk_bot"
		h.LinkTelegram = func(_ context.Context, u *core.User) (string, time.Time, error) {
			linked = u.ID
			return "AbC123", expires, nil
		}
	})
	r := e.json("POST", fmt.Sprintf("/api/Telegram/Link?accountId=%d", acctA), e.alice, nil)
	expect(t, r, 200)
	var d struct {
		Code      string  `json:"code"`
		Link      *string `json:"link"`
		ExpiresAt string  `json:"expiresAt"`
	}
	r.data(t, &d)
	if d.Code != "AbC123" || d.Link == nil || *d.Link != "https://t.me/helpdesk_bot?start=AbC123" || d.ExpiresAt != "2030-01-02T02:04:05Z" || linked != aliceID {
		t.Errorf("link %s (user %d)", r.env.Data, linked)
	}
	expect(t, e.json("POST", fmt.Sprintf("/api/Telegram/Link?accountId=%d", acctB), e.alice, nil), 403)
	expect(t, e.json("POST", "/api/Telegram/Link", e.alice, nil), 400)
}

func TestInternalError_LeaksNothing(t *testing.T) {
	e := newEnv(t, func(_ *core.Options, h *httpapi.Options) {
		h.LinkTelegram = func(context.Context, *core.User) (string, time.Time, error) {
			return "", time.Time{}, fmt.Errorf("dial bot: password=hunter2")
		}
	})
	r := e.json("POST", fmt.Sprintf("/api/Telegram/Link?accountId=%d", acctA), e.alice, nil)
	expect(t, r, 500)
	if r.env.Message != "Internal error." || bytes.Contains(r.body, []byte("hunter2")) || r.raw["errors"] != nil {
		t.Errorf("500 answer %s", r.body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "hunter2") || !strings.Contains(logs, "route=/api/Telegram/Link") || !strings.Contains(logs, "request_id="+r.header.Get("X-Request-Id")) {
		t.Errorf("internal error not logged with route and request id:\n%s", logs)
	}
}

// fullDisk is the real blob store whose disk has filled up: Put reads a little, then fails.
// A full disk cannot be made on demand (tests may run as root), so this is the one fault
// injected in-process.
type fullDisk struct{ core.Blobs }

func (fullDisk) Put(_ context.Context, r io.Reader, _ int64) (string, int64, error) {
	_, _ = io.CopyN(io.Discard, r, 1)
	return "", 0, fmt.Errorf("store upload: write /data/attachments/tmp/upload-1: no space left on device")
}

func TestCreateTicket_StorageFailureIsNotTheClients(t *testing.T) {
	e := newEnvBlobs(t, func(b core.Blobs) core.Blobs { return fullDisk{b} })
	ct, body := multipartBody(t, field("subject", "s"), field("description", "d"), filePart("f.txt", "text/plain", "data"))
	r := e.call("POST", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), e.alice, ct, body)
	expect(t, r, http.StatusInternalServerError)
	if r.env.Message != "Internal error." || bytes.Contains(r.body, []byte("no space")) {
		t.Errorf("answer %s", r.body)
	}
	if !strings.Contains(e.logs.String(), "no space left on device") {
		t.Error("storage failure not logged")
	}
}

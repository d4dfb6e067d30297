package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/core"
)

// compatCall sends a request to the compatibility API and decodes its bare JSON answer.
func (e *testEnv) compatCall(method, path, key, ct string, body io.Reader) (int, map[string]json.RawMessage, []byte) {
	e.t.Helper()
	res := e.request(method, path, key, ct, body)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if got := res.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		e.t.Fatalf("Content-Type %q: %s", got, raw)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		e.t.Fatalf("not a JSON object: %s", raw)
	}
	return res.StatusCode, m, raw
}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var compatTime = regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"$`)

// TestCompat_SeedRequestAndShape sends the compatibility API's documented request (multipart with
// department_id, subject, message, attachments[], service_id, service_type) and checks the
// documented answer's shape, then reads the ticket back.
func TestCompat_SeedRequestAndShape(t *testing.T) {
	e := newEnv(t)
	e.putDepartment(2, "tech-support")
	ct, body := multipartBody(t,
		field("department_id", "2"),
		field("subject", "Example subject"),
		field("message", "Example message."),
		part{name: "attachments[]", fileName: "first_attachment.png", contentType: "image/png", value: "PNG1", file: true},
		part{name: "attachments[]", fileName: "second_attachment.png", contentType: "image/png", value: "PNG22", file: true},
		field("service_id", itoa(propA)),
		field("service_type", "hosting"),
	)
	status, m, raw := e.compatCall("POST", "/v1/support/tickets", e.alice, ct, body) // alice's only account
	if status != http.StatusOK {
		t.Fatalf("create: %d %s", status, raw)
	}
	want := []string{"created_at", "department", "id", "messages", "service_id", "service_label", "service_type", "status", "subject", "updated_at"}
	if got := keysOf(m); !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	var tk struct {
		ID           int64   `json:"id"`
		Status       string  `json:"status"`
		Subject      string  `json:"subject"`
		Department   string  `json:"department"`
		ServiceLabel *string `json:"service_label"`
		ServiceType  *string `json:"service_type"`
		ServiceID    *int64  `json:"service_id"`
		Messages     []map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &tk); err != nil {
		t.Fatal(err)
	}
	if tk.Status != "opened" || tk.Subject != "Example subject" || tk.Department != "tech-support" ||
		tk.ServiceLabel == nil || *tk.ServiceLabel != "example.com" || *tk.ServiceType != "hosting" || *tk.ServiceID != propA {
		t.Fatalf("ticket: %s", raw)
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if !compatTime.Match(m[k]) {
			t.Errorf("%s = %s, want 2024-11-20T22:00:00.000000Z style", k, m[k])
		}
	}
	if len(tk.Messages) != 1 {
		t.Fatalf("messages: %s", raw)
	}
	msg := tk.Messages[0]
	if got := keysOf(msg); !slices.Equal(got, []string{"attachments", "content", "created_at", "id", "is_customer"}) {
		t.Fatalf("message fields %v", got)
	}
	if string(msg["is_customer"]) != "true" || string(msg["content"]) != `"Example message."` || !compatTime.Match(msg["created_at"]) {
		t.Fatalf("message: %s", raw)
	}
	var atts []map[string]json.RawMessage
	json.Unmarshal(msg["attachments"], &atts)
	if len(atts) != 2 || !slices.Equal(keysOf(atts[0]), []string{"id", "mimeType", "name", "size"}) ||
		string(atts[0]["name"]) != `"first_attachment.png"` || string(atts[0]["mimeType"]) != `"image/png"` || string(atts[1]["size"]) != "5" {
		t.Fatalf("attachments: %s", msg["attachments"])
	}

	// The ticket is a normal ticket of the account: the panel sees it, staff can route it.
	d := e.detail(e.alice, acctA, tk.ID)
	if d.Subject != "Example subject" || d.PropertyID == nil || *d.PropertyID != propA || len(d.Messages[0].Attachments) != 2 {
		t.Fatalf("panel view: %+v", d)
	}
	if rows, _ := e.queue("departmentId=2"); !slices.Equal(ids(rows), []int64{tk.ID}) {
		t.Fatal("the department did not stick")
	}

	// GET answers in the same shape, with staff replies as is_customer false.
	e.staffReply(tk.ID, "We are on it.", false)
	status, m, raw = e.compatCall("GET", fmt.Sprintf("/v1/support/tickets/%d", tk.ID), e.alice, "", nil)
	if status != http.StatusOK || !slices.Equal(keysOf(m), want) {
		t.Fatalf("get: %d %s", status, raw)
	}
	json.Unmarshal(raw, &tk)
	if len(tk.Messages) != 2 || string(tk.Messages[1]["is_customer"]) != "false" || string(tk.Messages[1]["content"]) != `"We are on it."` {
		t.Fatalf("get messages: %s", raw)
	}
	// Bearer works too, as the seed documents; another account's ticket is 404.
	req, _ := http.NewRequest("GET", e.srv.URL+fmt.Sprintf("/v1/support/tickets/%d", tk.ID), nil)
	req.Header.Set("Authorization", "Bearer "+e.alice)
	req.Header.Set("Accept", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("bearer: %v %v", err, res)
	}
	res.Body.Close()
	if status, m, _ := e.compatCall("GET", fmt.Sprintf("/v1/support/tickets/%d", tk.ID), e.bob, "", nil); status != 404 || m["message"] == nil {
		t.Fatalf("bob reads alice's ticket: %d", status)
	}
	if status, _, _ := e.compatCall("GET", fmt.Sprintf("/v1/support/tickets/%d?accountId=%d", tk.ID, acctB), e.alice, "", nil); status != 403 {
		t.Fatalf("foreign accountId: %d", status)
	}
}

func TestCompat_ValidationAndAccountChoice(t *testing.T) {
	e := newEnv(t)
	e.putDepartment(2, "tech-support")
	form := func(fields map[string]string) (string, io.Reader) {
		var parts []part
		for _, k := range []string{"department_id", "subject", "message", "service_id", "service_type"} {
			if v, ok := fields[k]; ok {
				parts = append(parts, field(k, v))
			}
		}
		ct, body := multipartBody(t, parts...)
		return ct, body
	}
	good := map[string]string{"department_id": "2", "subject": "Hello there", "message": "Hello world"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "-" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		fields map[string]string
		status int
		field  string
	}{
		{"subject too short", with("subject", "ab"), 400, "subject"},
		{"subject blank", with("subject", "     "), 400, "subject"},
		{"subject over 255", with("subject", strings.Repeat("x", 256)), 400, "subject"},
		{"subject over 255 letters of two bytes", with("subject", strings.Repeat("é", 256)), 400, "subject"},
		{"message too short", with("message", "hey"), 400, "message"},
		{"message blank", with("message", "        "), 400, "message"},
		{"department missing", with("department_id", "-"), 400, "department_id"},
		{"department empty", with("department_id", ""), 400, "department_id"},
		{"department blank", with("department_id", "   "), 400, "department_id"},
		{"department tab and newline", with("department_id", "\t\r\n"), 400, "department_id"},
		{"department not a number", with("department_id", "two"), 400, "department_id"},
		{"department a fraction", with("department_id", "2.5"), 400, "department_id"},
		{"department zero", with("department_id", "0"), 400, "department_id"},
		{"department negative", with("department_id", "-2"), 400, "department_id"},
		{"department past int64", with("department_id", "9223372036854775808"), 400, "department_id"},
		{"department unknown", with("department_id", "9"), 400, "department_id"},
		{"service not a number", with("service_id", "abc"), 400, "service_id"},
		{"service negative", with("service_id", "-1"), 400, "service_id"},
		{"service of another account", with("service_id", itoa(propB)), 400, "service_id"},
		{"empty service fields are absent", with("service_id", ""), 200, ""},
		{"blank service fields are absent", with("service_id", "  "), 200, ""},
		{"blank service type is absent", with("service_type", " \t "), 200, ""},
		{"department padded", with("department_id", " 2 "), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := form(tt.fields)
			status, m, raw := e.compatCall("POST", "/v1/support/tickets", e.alice, ct, body)
			if status != tt.status {
				t.Fatalf("%d, want %d: %s", status, tt.status, raw)
			}
			if tt.field != "" {
				var errs map[string][]string
				json.Unmarshal(m["errors"], &errs)
				if len(errs[tt.field]) == 0 || m["message"] == nil {
					t.Fatalf("errors lack %q: %s", tt.field, raw)
				}
			}
		})
	}
	if strings.Contains(e.logs.String(), "panic") || strings.Contains(e.logs.String(), "internal error") {
		t.Errorf("a refused form was logged as a server failure:\n%s", e.logs.String())
	}
	ct, body := form(good)
	if status, _, raw := e.compatCall("POST", "/v1/support/tickets", e.alice, "application/json", body); status != 415 {
		t.Fatalf("JSON body: %d %s", status, raw)
	}
	if status, m, _ := e.compatCall("POST", "/v1/support/tickets", "", ct, body); status != 401 || m["message"] == nil {
		t.Fatalf("no key: %d", status)
	}

	// A user of two accounts names one, or sets a default.
	ctx, sys := context.Background(), core.System()
	if _, err := e.svc.PutUser(ctx, sys, core.User{ID: 9, Email: "carol@c.test", Name: "Carol", AccountIDs: []int64{acctA, acctB}}); err != nil {
		t.Fatal(err)
	}
	_, carol, _ := e.svc.CreateAPIKey(ctx, sys, 9)
	ct, body = form(good)
	if status, m, raw := e.compatCall("POST", "/v1/support/tickets", carol, ct, body); status != 400 || m["errors"] == nil {
		t.Fatalf("two accounts, none named: %d %s", status, raw)
	}
	ct, body = form(good)
	status, _, raw := e.compatCall("POST", fmt.Sprintf("/v1/support/tickets?accountId=%d", acctB), carol, ct, body)
	var tk struct{ ID int64 }
	json.Unmarshal(raw, &tk)
	if status != 200 || e.detail(e.bob, acctB, tk.ID).AccountID != acctB {
		t.Fatalf("named account: %d %s", status, raw)
	}
	if _, err := e.svc.PutUser(ctx, sys, core.User{ID: 9, Email: "carol@c.test", Name: "Carol", AccountIDs: []int64{acctA, acctB}, DefaultAccountID: acctB}); err != nil {
		t.Fatal(err)
	}
	ct, body = form(good)
	status, _, raw = e.compatCall("POST", "/v1/support/tickets", carol, ct, body)
	json.Unmarshal(raw, &tk)
	if status != 200 || e.detail(e.bob, acctB, tk.ID).AccountID != acctB {
		t.Fatalf("default account: %d %s", status, raw)
	}
}

// TestCompat_SubjectsOfThreeTo255CharactersAreKeptWhole: the seed promises 3–255 characters,
// longer than the panel's 200; such a subject is accepted and kept whole, whichever way the
// ticket is read back. The panel's own endpoint keeps its 1–200.
func TestCompat_SubjectsOfThreeTo255CharactersAreKeptWhole(t *testing.T) {
	e := newEnv(t)
	e.putDepartment(2, "tech-support")
	tests := []struct {
		name, subject string
	}{
		{"shortest", "abc"},
		{"core's limit", strings.Repeat("s", 200)},
		{"just past core's limit", strings.Repeat("s", 201)},
		{"longest", strings.Repeat("s", 255)},
		{"longest in two-byte letters", strings.Repeat("ж", 255)},
		{"longest with spaces around", "  " + strings.Repeat("q", 255) + "  "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := multipartBody(t, field("department_id", "2"), field("subject", tt.subject), field("message", "Hello world"))
			status, _, raw := e.compatCall("POST", "/v1/support/tickets", e.alice, ct, body)
			if status != http.StatusOK {
				t.Fatalf("%d %s", status, raw)
			}
			var tk struct {
				ID      int64
				Subject string
			}
			json.Unmarshal(raw, &tk)
			want := strings.TrimSpace(tt.subject)
			if tk.Subject != want {
				t.Fatalf("answered subject of %d characters, want %d", utf8.RuneCountInString(tk.Subject), utf8.RuneCountInString(want))
			}
			if got := e.detail(e.alice, acctA, tk.ID).Subject; got != want {
				t.Fatalf("panel reads a subject of %d characters, want %d", utf8.RuneCountInString(got), utf8.RuneCountInString(want))
			}
			_, _, raw = e.compatCall("GET", fmt.Sprintf("/v1/support/tickets/%d", tk.ID), e.alice, "", nil)
			json.Unmarshal(raw, &tk)
			if tk.Subject != want {
				t.Fatal("compat GET cut the subject")
			}
		})
	}
	r := e.json("POST", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), e.alice, map[string]any{"subject": strings.Repeat("s", 201), "description": "d"})
	expect(t, r, http.StatusBadRequest)
	if !r.hasError("subject: must be at most 200 characters") {
		t.Fatalf("panel endpoint: %s", r)
	}
	expect(t, e.json("POST", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), e.alice, map[string]any{"subject": strings.Repeat("s", 200), "description": "d"}), http.StatusCreated)
}

package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
)

// Subjects and names are one line wherever they are shown (notifications, Telegram, the
// panel): a control character or a Unicode line break in one is refused with 400 naming
// the field, and nothing is stored.
func TestOneLineFields_ControlCharactersRefused(t *testing.T) {
	e := newEnv(t)
	ticket := e.createTicket(e.alice, acctA, nil)
	split := e.customerReply(e.alice, acctA, ticket, "the second problem")
	bad := map[string]string{
		"CR LF":               "Help\r\nStatus: Resolved",
		"LF":                  "Help\nforged line",
		"NUL":                 "Help\x00",
		"ESC":                 "Help \x1b[31mred",
		"NEL (C1)":            "Help\u0085next",
		"line separator":      "Help\u2028next",
		"paragraph separator": "Help\u2029next",
	}
	routes := []struct {
		name, method, path, field string
		key                       func() string
		body                      func(v string) map[string]any
	}{
		{"create ticket", "POST", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), "subject", func() string { return e.alice },
			func(v string) map[string]any { return map[string]any{"subject": v, "description": "d"} }},
		{"split", "POST", fmt.Sprintf("/api/staff/Ticket/%d/Split", ticket), "subject", func() string { return e.staff },
			func(v string) map[string]any { return map[string]any{"messageId": split.ID, "subject": v} }},
		{"account", "PUT", "/api/admin/Account/777", "name", func() string { return e.admin },
			func(v string) map[string]any { return map[string]any{"name": v} }},
		{"user", "PUT", "/api/admin/User/777", "name", func() string { return e.admin },
			func(v string) map[string]any {
				return map[string]any{"email": "new@a.test", "name": v, "accountIds": []int64{acctA}}
			}},
		{"property", "PUT", "/api/admin/Property/777", "name", func() string { return e.admin },
			func(v string) map[string]any { return map[string]any{"accountId": acctA, "name": v} }},
		{"department", "PUT", "/api/admin/Department/777", "name", func() string { return e.admin },
			func(v string) map[string]any { return map[string]any{"name": v} }},
	}
	for _, rt := range routes {
		for what, v := range bad {
			t.Run(rt.name+"/"+what, func(t *testing.T) {
				r := e.json(rt.method, rt.path, rt.key(), rt.body(v))
				expect(t, r, http.StatusBadRequest)
				if !r.hasError(rt.field + ": must be one line without control characters") {
					t.Errorf("errors do not name %s: %s", rt.field, r.body)
				}
			})
		}
	}
	if rows, _ := e.queue(""); len(rows) != 1 {
		t.Errorf("%d tickets, want 1: a refused create or split stored one", len(rows))
	}
	expect(t, e.json("GET", "/api/staff/Department", e.staff, nil), http.StatusOK)
}

// A multipart form refuses a subject with a line break as JSON does.
func TestOneLineFields_MultipartSubjectRefused(t *testing.T) {
	e := newEnv(t)
	ct, body := multipartBody(t, field("subject", "Help\r\nX-Injected: yes"), field("description", "d"))
	r := e.call("POST", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), e.alice, ct, body)
	expect(t, r, http.StatusBadRequest)
	if !r.hasError("subject: must be one line") {
		t.Errorf("errors do not name the subject: %s", r.body)
	}
}

// TAB is white space pasted along with a subject or a name: it becomes a space.
func TestOneLineFields_TabIsASpace(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"subject": "Site\tdown\t"})
	if got := e.detail(e.alice, acctA, id).Subject; got != "Site down" {
		t.Errorf("subject stored as %q", got)
	}
	r := e.json("PUT", "/api/admin/Account/778", e.admin, map[string]any{"name": "Tab\tLtd"})
	expect(t, r, http.StatusOK)
	var a struct {
		Name string `json:"name"`
	}
	r.data(t, &a)
	if a.Name != "Tab Ltd" {
		t.Errorf("account name stored as %q", a.Name)
	}
}

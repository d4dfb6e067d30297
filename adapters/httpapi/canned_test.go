package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

type cannedData struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Body      string `json:"body"`
	Status    *int   `json:"status"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
	UpdatedBy *int64 `json:"updatedBy"`
}

// createCanned creates a canned reply as key and returns it.
func (e *testEnv) createCanned(key string, body map[string]any) cannedData {
	e.t.Helper()
	r := e.json("POST", "/api/staff/CannedReply", key, body)
	expect(e.t, r, http.StatusCreated)
	var c cannedData
	r.data(e.t, &c)
	return c
}

func cannedPath(id int64) string { return fmt.Sprintf("/api/staff/CannedReply/%d", id) }

// TestCannedReply_CRUD: staff create, read, list, replace and delete canned replies; names
// are one word, stored in lower case, unique.
func TestCannedReply_CRUD(t *testing.T) {
	e := newEnv(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e.clock.Set(t0)
	c := e.createCanned(e.staff, map[string]any{"name": " Greeting ", "body": "Hello {{customer.name}}!"})
	if c.ID == 0 || c.Name != "greeting" || c.Body != "Hello {{customer.name}}!" || c.Status != nil ||
		c.CreatedAt != "2026-12-01T10:00:00Z" || c.UpdatedAt != c.CreatedAt || c.UpdatedBy == nil || *c.UpdatedBy != staffID {
		t.Fatalf("created %+v", c)
	}
	solved := e.createCanned(e.admin, map[string]any{"name": "solved", "body": "Solved, {{ customer.name }}.", "status": 2})
	if solved.Status == nil || *solved.Status != 2 || *solved.UpdatedBy != adminID {
		t.Fatalf("created %+v", solved)
	}

	r := e.json("GET", "/api/staff/CannedReply", e.staff, nil)
	expect(t, r, http.StatusOK)
	var list []cannedData
	r.data(t, &list)
	if len(list) != 2 || list[0].Name != "greeting" || list[1].Name != "solved" || r.env.TotalRecords != 2 {
		t.Fatalf("list %s", r.body)
	}
	r = e.json("GET", cannedPath(c.ID), e.staff, nil)
	expect(t, r, http.StatusOK)
	var got cannedData
	r.data(t, &got)
	if fmt.Sprint(got.ID, got.Name, got.Body, got.Status, got.CreatedAt, got.UpdatedAt, *got.UpdatedBy) != fmt.Sprint(c.ID, c.Name, c.Body, c.Status, c.CreatedAt, c.UpdatedAt, *c.UpdatedBy) {
		t.Errorf("get %+v, want %+v", got, c)
	}

	e.clock.Advance(time.Hour)
	r = e.json("PUT", cannedPath(c.ID), e.admin, map[string]any{"name": "hello", "body": "Hi {{customer.name}}.", "status": 1})
	expect(t, r, http.StatusOK)
	r.data(t, &got)
	if got.Name != "hello" || got.Body != "Hi {{customer.name}}." || got.Status == nil || *got.Status != 1 ||
		got.CreatedAt != c.CreatedAt || got.UpdatedAt != "2026-12-01T11:00:00Z" || *got.UpdatedBy != adminID {
		t.Errorf("updated %+v", got)
	}
	// A PUT replaces the whole: no status now means none.
	r = e.json("PUT", cannedPath(c.ID), e.staff, map[string]any{"name": "hello", "body": "Hi {{customer.name}}."})
	expect(t, r, http.StatusOK)
	r.data(t, &got)
	if got.Status != nil || *got.UpdatedBy != staffID {
		t.Errorf("status not cleared: %+v", got)
	}

	expect(t, e.json("DELETE", cannedPath(c.ID), e.staff, nil), http.StatusOK)
	expect(t, e.json("GET", cannedPath(c.ID), e.staff, nil), http.StatusNotFound)
	expect(t, e.json("DELETE", cannedPath(c.ID), e.staff, nil), http.StatusNotFound)
	expect(t, e.json("PUT", cannedPath(c.ID), e.staff, map[string]any{"name": "x", "body": "y"}), http.StatusNotFound)
	r = e.json("GET", "/api/staff/CannedReply", e.staff, nil)
	r.data(t, &list)
	if len(list) != 1 || list[0].ID != solved.ID {
		t.Errorf("after delete: %s", r.body)
	}

	// Customers have no business here.
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/staff/CannedReply"}, {"GET", cannedPath(solved.ID)}, {"POST", "/api/staff/CannedReply"},
		{"PUT", cannedPath(solved.ID)}, {"DELETE", cannedPath(solved.ID)},
	} {
		expect(t, e.json(c.method, c.path, e.alice, map[string]any{"name": "x", "body": "y"}), http.StatusForbidden)
	}
}

// TestCannedReply_FieldErrors: every bad input is a 400 naming the field (a taken name a
// 409 naming it), and nothing is stored.
func TestCannedReply_FieldErrors(t *testing.T) {
	e := newEnv(t)
	taken := e.createCanned(e.staff, map[string]any{"name": "taken", "body": "x"})
	other := e.createCanned(e.staff, map[string]any{"name": "other", "body": "x"})
	long := strings.Repeat("x", 20001)
	for _, c := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no name", map[string]any{"body": "x"}, 400, "name: is required"},
		{"no body", map[string]any{"name": "a"}, 400, "body: is required"},
		{"empty name", map[string]any{"name": "  ", "body": "x"}, 400, "name: must not be empty"},
		{"two words", map[string]any{"name": "two words", "body": "x"}, 400, "name: must be one word"},
		{"slash", map[string]any{"name": "a/b", "body": "x"}, 400, "name: must be one word"},
		{"long name", map[string]any{"name": strings.Repeat("n", 33), "body": "x"}, 400, "name: must be at most 32"},
		{"empty body", map[string]any{"name": "a", "body": " \n "}, 400, "body: must not be empty"},
		{"long body", map[string]any{"name": "a", "body": long}, 400, "body: must be at most 20000"},
		{"unknown placeholder", map[string]any{"name": "a", "body": "Hi {{customer.email}}"}, 400, "body: unknown placeholder {{customer.email}}"},
		{"template code", map[string]any{"name": "a", "body": `{{printf "%s" .}}`}, 400, "body: unknown placeholder"},
		{"status open", map[string]any{"name": "a", "body": "x", "status": 0}, 400, "status: must be 1"},
		{"status 4", map[string]any{"name": "a", "body": "x", "status": 4}, 400, "status: must be 1"},
		{"status text", map[string]any{"name": "a", "body": "x", "status": "2"}, 400, "status"},
		{"unknown field", map[string]any{"name": "a", "body": "x", "sets": 2}, 400, "sets"},
		{"taken", map[string]any{"name": "TAKEN", "body": "x"}, 409, "name: is taken"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.json("POST", "/api/staff/CannedReply", e.staff, c.body)
			if r.status != c.status || !r.hasError(c.field) {
				t.Errorf("create: %s, want %d naming %q", r, c.status, c.field)
			}
			if c.name == "no name" || c.name == "no body" {
				return // a PUT needs the same fields; checked once is enough
			}
			r = e.json("PUT", cannedPath(other.ID), e.staff, c.body)
			if r.status != c.status || !r.hasError(c.field) {
				t.Errorf("update: %s, want %d naming %q", r, c.status, c.field)
			}
		})
	}
	// Braces that close no "{{" are plain text, and a reply may keep its own name.
	e.createCanned(e.staff, map[string]any{"name": "braces", "body": "Type }} to close, {a} as is, and {{ to open."})
	expect(t, e.json("PUT", cannedPath(taken.ID), e.staff, map[string]any{"name": "taken", "body": "y"}), http.StatusOK)
	expect(t, e.json("GET", "/api/staff/CannedReply/0", e.staff, nil), http.StatusBadRequest)
	r := e.json("GET", "/api/staff/CannedReply", e.staff, nil)
	var list []cannedData
	r.data(t, &list)
	if len(list) != 3 {
		t.Errorf("refused inputs were stored: %s", r.body)
	}
}

// TestCannedReply_AuditSaysWhoChangedIt: every create, change and delete is in the admins'
// audit log with its actor, in order.
func TestCannedReply_AuditSaysWhoChangedIt(t *testing.T) {
	e := newEnv(t)
	c := e.createCanned(e.staff, map[string]any{"name": "greeting", "body": "Hello"})
	expect(t, e.json("PUT", cannedPath(c.ID), e.admin, map[string]any{"name": "greeting", "body": "Hello!", "status": 2}), http.StatusOK)
	expect(t, e.json("DELETE", cannedPath(c.ID), e.staff, nil), http.StatusOK)
	// Refused changes leave no entry.
	expect(t, e.json("PUT", cannedPath(c.ID), e.admin, map[string]any{"name": "greeting", "body": "Hello"}), http.StatusNotFound)
	expect(t, e.json("POST", "/api/staff/CannedReply", e.staff, map[string]any{"name": "bad name", "body": "x"}), http.StatusBadRequest)

	r := e.json("GET", "/api/admin/Audit?subject=canned_reply:"+itoa(c.ID), e.admin, nil)
	expect(t, r, http.StatusOK)
	var log []struct {
		Action      string `json:"action"`
		ActorUserID *int64 `json:"actorUserId"`
		Subject     string `json:"subject"`
		Detail      string `json:"detail"`
	}
	r.data(t, &log)
	want := []struct {
		action string
		actor  int64
		detail string
	}{
		{"canned_reply.delete", staffID, "name=greeting"},
		{"canned_reply.update", adminID, "name=greeting; changed=body,status"},
		{"canned_reply.create", staffID, "name=greeting"},
	}
	if len(log) != len(want) {
		t.Fatalf("audit log %s, want %d entries", r.body, len(want))
	}
	for i, w := range want {
		if g := log[i]; g.Action != w.action || g.ActorUserID == nil || *g.ActorUserID != w.actor || g.Detail != w.detail {
			t.Errorf("entry %d: %+v, want %+v", i, g, w)
		}
	}
	r = e.json("GET", "/api/admin/Audit?action=canned_reply.create", e.admin, nil)
	r.data(t, &log)
	if len(log) != 1 {
		t.Errorf("by action: %s", r.body)
	}
}

// TestCannedReply_ReplyFillsPlaceholdersAndSetsStatus: a staff reply with cannedReplyId
// stores the canned text filled for the ticket and the replying staff user, then sets the
// canned reply's status as a staff status change, and the customer is told both.
func TestCannedReply_ReplyFillsPlaceholdersAndSetsStatus(t *testing.T) {
	e := newEnv(t, withNotify)
	e.clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	// A subject that looks like a placeholder stays as the customer wrote it.
	id := e.createTicket(e.alice, acctA, map[string]any{"subject": "Invoice {{staff.name}} <b>wrong</b>"})
	c := e.createCanned(e.staff, map[string]any{"name": "solved", "status": 2,
		"body": "Hello {{customer.name}},\nticket #{{ticket.id}} ({{ ticket.subject }}) is solved.\n-- {{staff.name}}"})
	e.clock.Advance(time.Minute)

	r := e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, map[string]any{"cannedReplyId": c.ID})
	expect(t, r, http.StatusCreated)
	var m messageData
	r.data(t, &m)
	want := fmt.Sprintf("Hello Alice,\nticket #%d (Invoice {{staff.name}} <b>wrong</b>) is solved.\n-- Staff", id)
	if m.Message != want || m.Author != "staff" || m.Internal {
		t.Fatalf("reply %+v, want the text %q", m, want)
	}
	d := e.detail(e.alice, acctA, id)
	if d.Status != 2 || d.Messages[len(d.Messages)-1].Message != want {
		t.Fatalf("customer sees status %d, last message %q", d.Status, d.Messages[len(d.Messages)-1].Message)
	}
	last := d.History[len(d.History)-1]
	if last.Kind != "status" || last.To == nil || *last.To != 2 || last.ActorUserID == nil || *last.ActorUserID != staffID {
		t.Errorf("history %+v: want the status change by the staff user last", d.History)
	}
	// The outbox lists newest first: the reply's notification, then the status change's.
	var kinds []string
	for _, n := range e.outbox("pending") {
		if n.Recipient == "alice@a.test" && n.TicketID != nil && *n.TicketID == id && n.Event != "ticket_created" {
			kinds = append(kinds, n.Event)
		}
	}
	if strings.Join(kinds, ",") != "status_changed,staff_reply" {
		t.Errorf("the customer's notifications, newest first: %v, want status_changed after staff_reply", kinds)
	}

	// A message given as well follows the canned text; a canned reply without a status
	// leaves the status to the state machine.
	hello := e.createCanned(e.staff, map[string]any{"name": "hello", "body": "Hi {{customer.name}}."})
	r = e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, map[string]any{"cannedReplyId": hello.ID, "message": "One more thing."})
	expect(t, r, http.StatusCreated)
	r.data(t, &m)
	if m.Message != "Hi Alice.\n\nOne more thing." {
		t.Errorf("canned + message: %q", m.Message)
	}
	if d := e.detail(e.alice, acctA, id); d.Status != 2 {
		t.Errorf("status %d after a canned reply with none, want Resolved kept", d.Status)
	}
}

// TestCannedReply_ReplyMultipart: the multipart form takes cannedReplyId as well, with a file.
func TestCannedReply_ReplyMultipart(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	c := e.createCanned(e.staff, map[string]any{"name": "progress", "status": 1, "body": "Working on #{{ticket.id}}, {{customer.name}}."})
	ct, body := multipartBody(t, field("cannedReplyId", itoa(c.ID)), filePart("log.txt", "text/plain", "trace"))
	r := e.call("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, ct, body)
	expect(t, r, http.StatusCreated)
	var m messageData
	r.data(t, &m)
	if m.Message != fmt.Sprintf("Working on #%d, Alice.", id) || len(m.Attachments) != 1 {
		t.Fatalf("multipart canned reply %+v", m)
	}
	if d := e.staffDetail(id); d.Status != 1 {
		t.Errorf("status %d, want In Progress", d.Status)
	}
	ct, body = multipartBody(t, field("cannedReplyId", "seven"))
	if r := e.call("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, ct, body); r.status != 400 || !r.hasError("cannedReplyId") {
		t.Errorf("cannedReplyId seven: %s", r)
	}
}

// TestCannedReply_ReplyRefusals: what a reply with a canned reply refuses, naming the field,
// and that nothing is added then.
func TestCannedReply_ReplyRefusals(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	closing := e.createCanned(e.staff, map[string]any{"name": "closing", "status": 3, "body": "Closing #{{ticket.id}}."})
	note := e.createCanned(e.staff, map[string]any{"name": "checklist", "body": "Checked DNS for #{{ticket.id}}."})
	reply := fmt.Sprintf("/api/staff/Ticket/%d/Reply", id)
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown id", map[string]any{"cannedReplyId": 99999}, "cannedReplyId: no such canned reply"},
		{"zero", map[string]any{"cannedReplyId": 0}, "cannedReplyId: must be a positive integer"},
		{"negative", map[string]any{"cannedReplyId": -3}, "cannedReplyId: must be a positive integer"},
		{"text", map[string]any{"cannedReplyId": "1"}, "cannedReplyId"},
		{"a note that sets a status", map[string]any{"cannedReplyId": closing.ID, "internal": true}, "internal:"},
		{"neither message nor canned reply", map[string]any{"cannedReplyId": nil}, "message: must not be empty"},
	} {
		if r := e.json("POST", reply, e.staff, c.body); r.status != http.StatusBadRequest || !r.hasError(c.field) {
			t.Errorf("%s: %s, want 400 naming %q", c.name, r, c.field)
		}
	}
	// The customer's reply has no such field.
	if r := e.json("POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", id, acctA), e.alice, map[string]any{"cannedReplyId": note.ID}); r.status != 400 || !r.hasError("cannedReplyId") {
		t.Errorf("customer with cannedReplyId: %s", r)
	}
	if d := e.staffDetail(id); len(d.Messages) != 1 || d.Status != 0 {
		t.Fatalf("refused replies left %d messages, status %d", len(d.Messages), d.Status)
	}

	// A canned reply without a status may be an internal note.
	r := e.json("POST", reply, e.staff, map[string]any{"cannedReplyId": note.ID, "internal": true})
	expect(t, r, http.StatusCreated)
	var m messageData
	r.data(t, &m)
	if !m.Internal || m.Message != fmt.Sprintf("Checked DNS for #%d.", id) {
		t.Errorf("canned note %+v", m)
	}
	// Closing through a canned reply closes; the next one is refused by the state machine.
	expect(t, e.json("POST", reply, e.staff, map[string]any{"cannedReplyId": closing.ID}), http.StatusCreated)
	if d := e.staffDetail(id); d.Status != 3 {
		t.Fatalf("status %d, want Closed", d.Status)
	}
	expect(t, e.json("POST", reply, e.staff, map[string]any{"cannedReplyId": note.ID}), http.StatusConflict)
}

package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

type queueRow struct {
	ID           int64  `json:"id"`
	AccountID    int64  `json:"accountId"`
	UserID       int64  `json:"userId"`
	Subject      string `json:"subject"`
	Status       int    `json:"status"`
	MessageCount int    `json:"messageCount"`
	workRow
}

// workRow is the staff-side state of a queue row or a staff detail.
type workRow struct {
	UserName           string  `json:"userName"`
	PublicMessageCount int     `json:"publicMessageCount"`
	AssigneeUserID     *int64  `json:"assigneeUserId"`
	DepartmentID       *int64  `json:"departmentId"`
	DepartmentName     *string `json:"departmentName"`
	DueAt              *string `json:"dueAt"`
	Overdue            bool    `json:"overdue"`
	Favourite          bool    `json:"favourite"`
	Unread             bool    `json:"unread"`
	Archived           bool    `json:"archived"`
	MergedInto         *int64  `json:"mergedInto"`
	WaitingSince       *string `json:"waitingSince"`
	WaitingSeconds     int64   `json:"waitingSeconds"`
}

type staffDetail struct {
	detailData
	workRow
}

// queue lists the staff queue with a query string and returns the IDs in order.
func (e *testEnv) queue(query string) ([]queueRow, *reply) {
	e.t.Helper()
	r := e.json("GET", "/api/staff/Ticket?"+query, e.staff, nil)
	expect(e.t, r, http.StatusOK)
	var rows []queueRow
	r.data(e.t, &rows)
	return rows, r
}

func ids(rows []queueRow) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func sorted(v []int64) []int64 {
	out := slices.Clone(v)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (e *testEnv) staffDetail(id int64) staffDetail {
	e.t.Helper()
	r := e.json("GET", fmt.Sprintf("/api/staff/Ticket/%d", id), e.staff, nil)
	expect(e.t, r, http.StatusOK)
	var d staffDetail
	r.data(e.t, &d)
	return d
}

func (e *testEnv) staffReply(id int64, msg string, internal bool) messageData {
	e.t.Helper()
	r := e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, map[string]any{"message": msg, "internal": internal})
	expect(e.t, r, http.StatusCreated)
	var m messageData
	r.data(e.t, &m)
	return m
}

func (e *testEnv) customerReply(key string, account, id int64, msg string) messageData {
	e.t.Helper()
	r := e.json("POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", id, account), key, map[string]any{"message": msg})
	expect(e.t, r, http.StatusCreated)
	var m messageData
	r.data(e.t, &m)
	return m
}

func (e *testEnv) putDepartment(id int64, name string) {
	e.t.Helper()
	expect(e.t, e.json("PUT", fmt.Sprintf("/api/admin/Department/%d", id), e.admin, map[string]any{"name": name}), http.StatusOK)
}

// outbox lists notifications in a state through the staff endpoint.
func (e *testEnv) outbox(state string) []struct {
	ID        int64  `json:"id"`
	Event     string `json:"event"`
	Recipient string `json:"recipient"`
	TicketID  *int64 `json:"ticketId"`
	MessageID *int64 `json:"messageId"`
	State     string `json:"state"`
} {
	e.t.Helper()
	r := e.json("GET", "/api/staff/Notification?state="+state, e.staff, nil)
	expect(e.t, r, http.StatusOK)
	var list []struct {
		ID        int64  `json:"id"`
		Event     string `json:"event"`
		Recipient string `json:"recipient"`
		TicketID  *int64 `json:"ticketId"`
		MessageID *int64 `json:"messageId"`
		State     string `json:"state"`
	}
	r.data(e.t, &list)
	return list
}

func TestStaffQueue_FiltersSortAndPaging(t *testing.T) {
	e := newEnv(t)
	e.putDepartment(7, "tech-support")
	a1 := e.createTicket(e.alice, acctA, map[string]any{"subject": "Mailbox quota exceeded", "description": "My inbox is full", "topic": 1})
	a2 := e.createTicket(e.alice, acctA, map[string]any{"subject": "DNS question", "description": "Where do I set the MX record?", "propertyId": propA})
	b1 := e.createTicket(e.bob, acctB, map[string]any{"subject": "Certificate renewal", "description": "The certificate expired yesterday", "topic": 4})

	all, r := e.queue("")
	if !slices.Equal(ids(all), []int64{b1, a2, a1}) || r.env.TotalRecords != 3 || r.env.PageNumber != 1 || r.env.PageSize != 20 {
		t.Fatalf("default queue: %v %+v", ids(all), r.env)
	}
	for _, row := range all {
		if !row.Unread || row.WaitingSeconds < 0 || row.WaitingSince == nil {
			t.Errorf("new ticket %d should be unread and waiting: %+v", row.ID, row)
		}
	}
	if all[0].UserName != "Bob" || all[0].AccountID != acctB {
		t.Errorf("row: %+v", all[0])
	}

	// Workflow state to filter on.
	expect(t, e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Assignment", a1), e.staff, map[string]any{"assigneeUserId": staffID, "departmentId": 7}), 200)
	expect(t, e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Assignment", b1), e.staff, map[string]any{"departmentId": 7}), 200)
	expect(t, e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Deadline", a2), e.staff, map[string]any{"dueAt": "2001-01-01T00:00:00Z"}), 200)
	expect(t, e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Deadline", b1), e.staff, map[string]any{"dueAt": "2999-01-01T00:00:00Z"}), 200)
	expect(t, e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Favourite", b1), e.staff, nil), 200)
	e.staffDetail(a1) // reading marks read
	e.staffReply(a2, "Set it in the DNS panel.", false)

	tests := []struct {
		query string
		want  []int64
	}{
		{"status=0", []int64{a2, b1, a1}},
		{"topic=4", []int64{b1}},
		{fmt.Sprintf("accountId=%d", acctA), []int64{a2, a1}},
		{fmt.Sprintf("propertyId=%d", propA), []int64{a2}},
		{"propertyId=0", []int64{b1, a1}},
		{fmt.Sprintf("assigneeUserId=%d", staffID), []int64{a1}},
		{"departmentId=7", []int64{b1, a1}},
		{"departmentId=0", []int64{a2}},
		{"unassigned=true", []int64{a2, b1}},
		{"unread=true", []int64{b1}},
		{"favourite=true", []int64{b1}},
		{"overdue=true", []int64{a2}},
		{"q=mailbox", []int64{a1}},
		{"q=MX+record", []int64{a2}},
		{"q=certificate+expired", []int64{b1}},
		{"q=panel", []int64{a2}}, // a staff reply's words
		{"q=nothing-like-this", []int64{}},
		{"q=%22%29%28*", []int64{}}, // FTS5 syntax is not interpreted
		{"q=dns&accountId=202", []int64{}},
		{"sort=created&order=asc", []int64{a1, a2, b1}},
		{"sort=created", []int64{b1, a2, a1}},
		{"sort=deadline", []int64{a2, b1, a1}},
		{"archived=false", []int64{a2, b1, a1}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, r := e.queue(tt.query)
			if !slices.Equal(ids(got), tt.want) || r.env.TotalRecords != len(tt.want) {
				t.Fatalf("got %v (total %d), want %v", ids(got), r.env.TotalRecords, tt.want)
			}
		})
	}

	got, r := e.queue("pageSize=2&pageNumber=2&sort=created&order=asc")
	if !slices.Equal(ids(got), []int64{b1}) || r.env.TotalPages != 2 || r.env.TotalRecords != 3 {
		t.Fatalf("page 2: %v %+v", ids(got), r.env)
	}

	rows, _ := e.queue(fmt.Sprintf("accountId=%d", acctA))
	byID := map[int64]queueRow{}
	for _, row := range rows {
		byID[row.ID] = row
	}
	if row := byID[a2]; !row.Overdue || row.WaitingSeconds != 0 || row.WaitingSince != nil || row.Unread {
		t.Errorf("answered, overdue ticket: %+v", row)
	}
	if row := byID[a1]; row.AssigneeUserID == nil || *row.AssigneeUserID != staffID || row.DepartmentName == nil || *row.DepartmentName != "tech-support" || row.WaitingSince == nil {
		t.Errorf("assigned ticket: %+v", row)
	}

	for _, bad := range []string{"status=9", "sort=priority", "order=up", "unread=maybe", "pageSize=101", "accountId=x", "unassigned=true&assigneeUserId=2"} {
		expect(t, e.json("GET", "/api/staff/Ticket?"+bad, e.staff, nil), http.StatusBadRequest)
	}
}

func TestStaffWorkflow_AssignmentDeadlineFavouriteRead(t *testing.T) {
	e := newEnv(t)
	e.putDepartment(3, "billing")
	id := e.createTicket(e.alice, acctA, nil)
	path := fmt.Sprintf("/api/staff/Ticket/%d", id)

	r := e.json("PUT", path+"/Assignment", e.staff, map[string]any{"assigneeUserId": aliceID})
	expect(t, r, http.StatusBadRequest) // not staff
	expect(t, e.json("PUT", path+"/Assignment", e.staff, map[string]any{"departmentId": 99}), http.StatusBadRequest)
	expect(t, e.json("PUT", "/api/staff/Ticket/9999/Assignment", e.staff, map[string]any{}), http.StatusNotFound)
	r = e.json("PUT", path+"/Assignment", e.staff, map[string]any{"assigneeUserId": adminID, "departmentId": 3})
	expect(t, r, http.StatusOK)
	var row queueRow
	r.data(t, &row)
	if *row.AssigneeUserID != adminID || *row.DepartmentID != 3 || *row.DepartmentName != "billing" {
		t.Fatalf("assignment: %+v", row)
	}
	r = e.json("PUT", path+"/Assignment", e.staff, map[string]any{"assigneeUserId": nil})
	r.data(t, &row)
	if row.AssigneeUserID != nil || row.DepartmentID != nil {
		t.Fatalf("cleared assignment: %+v", row)
	}

	expect(t, e.json("PUT", path+"/Deadline", e.staff, map[string]any{"dueAt": "tomorrow"}), http.StatusBadRequest)
	r = e.json("PUT", path+"/Deadline", e.staff, map[string]any{"dueAt": "2000-01-02T03:04:05Z"})
	r.data(t, &row)
	if row.DueAt == nil || *row.DueAt != "2000-01-02T03:04:05Z" || !row.Overdue {
		t.Fatalf("deadline: %+v", row)
	}
	expect(t, e.json("POST", path+"/Status", e.staff, map[string]any{"status": 2}), 200)
	if d := e.staffDetail(id); d.Overdue {
		t.Fatal("a Resolved ticket is not overdue")
	}
	r = e.json("PUT", path+"/Deadline", e.staff, map[string]any{"dueAt": nil})
	r.data(t, &row)
	if row.DueAt != nil || row.Overdue {
		t.Fatalf("cleared deadline: %+v", row)
	}

	// Favourites and read marks are per staff user.
	r = e.json("PUT", path+"/Favourite", e.staff, nil)
	r.data(t, &row)
	if !row.Favourite {
		t.Fatal("not a favourite")
	}
	adminRows := e.json("GET", "/api/staff/Ticket?favourite=true", e.admin, nil)
	if adminRows.env.TotalRecords != 0 {
		t.Fatal("the admin's favourites include the staff user's")
	}
	r = e.json("DELETE", path+"/Favourite", e.staff, nil)
	r.data(t, &row)
	if row.Favourite {
		t.Fatal("still a favourite")
	}

	r = e.json("PUT", path+"/Read", e.staff, nil)
	r.data(t, &row)
	if row.Unread {
		t.Fatal("unread after marking read")
	}
	e.customerReply(e.alice, acctA, id, "Any news?")
	if rows, _ := e.queue("unread=true"); !slices.Equal(ids(rows), []int64{id}) {
		t.Fatal("a customer reply does not make the ticket unread")
	}
	if d := e.staffDetail(id); !d.Unread {
		t.Fatal("detail should say it was unread")
	}
	if rows, _ := e.queue("unread=true"); len(rows) != 0 {
		t.Fatal("reading the detail does not mark it read")
	}
	r = e.json("DELETE", path+"/Read", e.staff, nil)
	r.data(t, &row)
	if !row.Unread {
		t.Fatal("mark unread")
	}
	e.staffReply(id, "Looking into it.", false)
	if rows, _ := e.queue("unread=true"); len(rows) != 0 {
		t.Fatal("one's own reply leaves the ticket unread")
	}

	// The history has every step.
	r = e.json("GET", path+"/History", e.staff, nil)
	expect(t, r, 200)
	var hist []eventData
	r.data(t, &hist)
	var kinds []string
	for _, h := range hist {
		kinds = append(kinds, h.Kind)
	}
	for _, k := range []string{"created", "assigned", "deadline", "status"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("history lacks %q: %v", k, kinds)
		}
	}
	// The customer's history shows none of the staff's business.
	for _, h := range e.detail(e.alice, acctA, id).History {
		if h.Kind != "created" && h.Kind != "status" {
			t.Errorf("customer sees history line %q", h.Kind)
		}
	}
}

// TestStaffReply_NotesAndHiddenMessagesNeverReachTheCustomer checks detail, list counts,
// attachments and the outbox (the source of every email and Telegram notification).
func TestStaffReply_NotesAndHiddenMessagesNeverReachTheCustomer(t *testing.T) {
	e := newEnv(t, withNotify)
	id := e.createTicket(e.alice, acctA, nil)
	path := fmt.Sprintf("/api/staff/Ticket/%d", id)

	// An internal note with a file, by multipart.
	ct, body := multipartBody(t, field("message", "Customer is on the old plan."), field("internal", "true"), filePart("notes.txt", "text/plain", "secret"))
	r := e.call("POST", path+"/Reply", e.staff, ct, body)
	expect(t, r, http.StatusCreated)
	var note messageData
	r.data(t, &note)
	if !note.Internal || len(note.Attachments) != 1 || r.env.Message != "Internal note added successfully." {
		t.Fatalf("note: %s", r)
	}
	// A public reply with a file, then hidden.
	ct, body = multipartBody(t, field("message", "Here is your invoice."), filePart("invoice.pdf", "application/pdf", "%PDF"))
	r = e.call("POST", path+"/Reply", e.staff, ct, body)
	expect(t, r, http.StatusCreated)
	var public messageData
	r.data(t, &public)
	if public.Internal || len(public.Attachments) != 1 {
		t.Fatalf("public reply: %s", r)
	}
	pendingFor := func(msgID int64) int {
		n := 0
		for _, x := range e.outbox("pending") {
			if x.MessageID != nil && *x.MessageID == msgID {
				n++
			}
		}
		return n
	}
	if pendingFor(note.ID) != 0 {
		t.Fatal("an internal note was queued for notification")
	}
	if pendingFor(public.ID) != 1 {
		t.Fatalf("the public reply should be queued once: %+v", e.outbox("pending"))
	}
	visible := e.detail(e.alice, acctA, id)
	if len(visible.Messages) != 2 || visible.MessageCount != 2 {
		t.Fatalf("customer before hiding: %+v", visible)
	}

	r = e.json("POST", fmt.Sprintf("%s/Message/%d/Hide", path, public.ID), e.staff, nil)
	expect(t, r, http.StatusOK)
	var hidden messageData
	r.data(t, &hidden)
	if !hidden.Hidden {
		t.Fatalf("hide: %s", r)
	}
	if pendingFor(public.ID) != 0 {
		t.Fatal("the hidden reply's notification is still pending")
	}
	canceled := e.outbox("canceled")
	if len(canceled) != 1 || *canceled[0].MessageID != public.ID {
		t.Fatalf("canceled: %+v", canceled)
	}

	// The customer sees only the description: in the detail, the counts, the list, the files.
	d := e.detail(e.alice, acctA, id)
	if len(d.Messages) != 1 || d.MessageCount != 1 || d.Messages[0].Message != "It shows a 502." {
		t.Fatalf("customer detail: %+v", d)
	}
	for _, h := range d.History {
		if h.Kind == "hidden" {
			t.Error("the customer's history names the hidden message")
		}
	}
	list := e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), e.alice, nil)
	var items []struct {
		ID           int64 `json:"id"`
		MessageCount int   `json:"messageCount"`
	}
	list.data(t, &items)
	if len(items) != 1 || items[0].MessageCount != 1 {
		t.Fatalf("customer list: %s", list.body)
	}
	for _, att := range []int64{note.Attachments[0].ID, public.Attachments[0].ID} {
		res := e.request("GET", fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", id, att, acctA), e.alice, "", nil)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("customer downloads attachment %d: %d", att, res.StatusCode)
		}
		res = e.request("GET", fmt.Sprintf("/api/staff/Ticket/%d/Attachment/%d", id, att), e.staff, "", nil)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(b) == 0 {
			t.Errorf("staff download %d: %d", att, res.StatusCode)
		}
	}
	// The compatibility view is a customer's view too, even for staff.
	for _, key := range []string{e.alice, e.staff} {
		res := e.request("GET", fmt.Sprintf("/v1/support/tickets/%d", id), key, "", nil)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), "invoice") || strings.Contains(string(b), "old plan") {
			t.Errorf("compat view shows a note or a hidden message: %s", b)
		}
	}
	// Staff see everything.
	sd := e.staffDetail(id)
	if len(sd.Messages) != 3 || sd.MessageCount != 3 || sd.PublicMessageCount != 1 {
		t.Fatalf("staff detail: %d messages, count %d, public %d", len(sd.Messages), sd.MessageCount, sd.PublicMessageCount)
	}

	// The description cannot be hidden; unhiding brings the reply back.
	expect(t, e.json("POST", fmt.Sprintf("%s/Message/%d/Hide", path, d.Messages[0].ID), e.staff, nil), http.StatusBadRequest)
	expect(t, e.json("POST", fmt.Sprintf("%s/Message/%d/Hide", path, 9999), e.staff, nil), http.StatusNotFound)
	expect(t, e.json("POST", fmt.Sprintf("%s/Message/%d/Unhide", path, public.ID), e.staff, nil), http.StatusOK)
	if d := e.detail(e.alice, acctA, id); len(d.Messages) != 2 || d.MessageCount != 2 {
		t.Fatalf("after unhide: %+v", d)
	}
	// A customer reply, hidden, never shows either; its staff alert stays (staff see it).
	m := e.customerReply(e.alice, acctA, id, "my password is hunter2")
	expect(t, e.json("POST", fmt.Sprintf("%s/Message/%d/Hide", path, m.ID), e.staff, nil), http.StatusOK)
	if d := e.detail(e.alice, acctA, id); len(d.Messages) != 2 {
		t.Fatal("a hidden customer message is shown")
	}
	if pendingFor(m.ID) != 1 {
		t.Fatal("the staff alert about a hidden customer message was withdrawn")
	}
}

func TestEditMessage_KeepsThePreviousText(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"description": "Typo in here"})
	reply := e.staffReply(id, "Frist answer", false)
	path := fmt.Sprintf("/api/staff/Ticket/%d/Message/%d", id, reply.ID)

	expect(t, e.json("PUT", path, e.staff, map[string]any{"message": "  "}), http.StatusBadRequest)
	r := e.json("PUT", path, e.staff, map[string]any{"message": "First answer"})
	expect(t, r, http.StatusOK)
	r = e.json("PUT", path, e.staff, map[string]any{"message": "First answer, fixed"})
	expect(t, r, http.StatusOK)
	r = e.json("GET", path+"/Revisions", e.staff, nil)
	expect(t, r, http.StatusOK)
	var revs []struct {
		Message  string `json:"message"`
		EditedBy int64  `json:"editedBy"`
	}
	r.data(t, &revs)
	if len(revs) != 2 || revs[0].Message != "Frist answer" || revs[1].Message != "First answer" || revs[0].EditedBy != staffID {
		t.Fatalf("revisions: %s", r.body)
	}
	d := e.detail(e.alice, acctA, id)
	if d.Messages[1].Message != "First answer, fixed" {
		t.Fatalf("customer sees %q", d.Messages[1].Message)
	}
	// The first message is the description.
	first := fmt.Sprintf("/api/staff/Ticket/%d/Message/%d", id, d.Messages[0].ID)
	expect(t, e.json("PUT", first, e.staff, map[string]any{"message": "No typo here"}), http.StatusOK)
	if d := e.detail(e.alice, acctA, id); d.Description != "No typo here" || d.Messages[0].Message != "No typo here" {
		t.Fatalf("description: %q / %q", d.Description, d.Messages[0].Message)
	}
	// Search finds the new text, not the old one.
	if rows, _ := e.queue("q=fixed"); !slices.Equal(ids(rows), []int64{id}) {
		t.Fatal("search misses the edited text")
	}
	if rows, _ := e.queue("q=Frist"); len(rows) != 0 {
		t.Fatal("search finds the old text")
	}
	// A message of another ticket is not found through this one.
	other := e.createTicket(e.alice, acctA, nil)
	expect(t, e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Message/%d", other, reply.ID), e.staff, map[string]any{"message": "x"}), http.StatusNotFound)
	var edited int
	for _, h := range e.staffDetail(id).History {
		if h.Kind == "edited" {
			edited++
		}
	}
	if edited != 3 {
		t.Fatalf("%d edit lines in the history, want 3", edited)
	}
}

// messageSet is every message and attachment of some tickets, as staff see them.
func (e *testEnv) messageSet(tickets ...int64) (msgs, atts []int64) {
	e.t.Helper()
	for _, id := range tickets {
		for _, m := range e.staffDetail(id).Messages {
			msgs = append(msgs, m.ID)
			for _, a := range m.Attachments {
				atts = append(atts, a.ID)
			}
		}
	}
	return sorted(msgs), sorted(atts)
}

func historyDetails(d staffDetail, kind string) []string {
	var out []string
	for _, h := range d.History {
		if h.Kind == kind && h.Detail != nil {
			out = append(out, *h.Detail)
		}
	}
	return out
}

func TestSplit_KeepsEveryMessageAndAttachmentOnce(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"subject": "Two problems"})
	withFile := func(key, url, text, name string) messageData {
		ct, body := multipartBody(t, field("message", text), filePart(name, "text/plain", "content of "+name))
		r := e.call("POST", url, key, ct, body)
		expect(t, r, http.StatusCreated)
		var m messageData
		r.data(t, &m)
		return m
	}
	m2 := withFile(e.alice, fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", id, acctA), "Problem one detail", "one.txt")
	m3 := withFile(e.alice, fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", id, acctA), "Also: problem two with the mailbox", "two.txt")
	m4 := withFile(e.staff, fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), "Answer to two", "answer.txt")
	note := e.staffReply(id, "note on two", true)
	beforeMsgs, beforeAtts := e.messageSet(id)

	path := fmt.Sprintf("/api/staff/Ticket/%d/Split", id)
	first := e.staffDetail(id).Messages[0].ID
	expect(t, e.json("POST", path, e.staff, map[string]any{"messageId": first}), http.StatusBadRequest)
	expect(t, e.json("POST", path, e.staff, map[string]any{}), http.StatusBadRequest)
	expect(t, e.json("POST", path, e.staff, map[string]any{"messageId": 9999}), http.StatusNotFound)
	r := e.json("POST", path, e.staff, map[string]any{"messageId": m3.ID, "subject": "Problem two"})
	expect(t, r, http.StatusCreated)
	var nt ticketData
	r.data(t, &nt)
	if nt.Subject != "Problem two" || nt.Status != 0 || nt.ID == id {
		t.Fatalf("new ticket: %s", r.body)
	}

	afterMsgs, afterAtts := e.messageSet(id, nt.ID)
	if !slices.Equal(beforeMsgs, afterMsgs) || !slices.Equal(beforeAtts, afterAtts) {
		t.Fatalf("messages %v → %v, attachments %v → %v", beforeMsgs, afterMsgs, beforeAtts, afterAtts)
	}
	old, moved := e.staffDetail(id), e.staffDetail(nt.ID)
	if got := ids2(old.Messages); !slices.Equal(got, []int64{first, m2.ID}) {
		t.Fatalf("old ticket keeps %v", got)
	}
	if got := ids2(moved.Messages); !slices.Equal(got, []int64{m3.ID, m4.ID, note.ID}) {
		t.Fatalf("new ticket has %v", got)
	}
	if moved.Description != "Also: problem two with the mailbox" || moved.AccountID != acctA || moved.UserID != aliceID {
		t.Fatalf("new ticket: %+v", moved.detailData)
	}
	if old.MessageCount != 2 || moved.MessageCount != 3 || moved.PublicMessageCount != 2 {
		t.Fatalf("counts: old %d, new %d/%d", old.MessageCount, moved.MessageCount, moved.PublicMessageCount)
	}
	// The moved file is served through the new ticket, and no longer through the old one.
	att := m3.Attachments[0].ID
	res := e.request("GET", fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", nt.ID, att, acctA), e.alice, "", nil)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "content of two.txt" {
		t.Fatalf("moved attachment: %d %q", res.StatusCode, b)
	}
	res = e.request("GET", fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", id, att, acctA), e.alice, "", nil)
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("moved attachment through the old ticket: %d", res.StatusCode)
	}
	if len(historyDetails(old, "split")) != 1 || len(historyDetails(moved, "split")) != 1 {
		t.Fatalf("history: old %v, new %v", historyDetails(old, "split"), historyDetails(moved, "split"))
	}
	if !strings.Contains(historyDetails(old, "split")[0], fmt.Sprintf("#%d", nt.ID)) || !strings.Contains(historyDetails(moved, "split")[0], fmt.Sprintf("#%d", id)) {
		t.Fatalf("history details: %v / %v", historyDetails(old, "split"), historyDetails(moved, "split"))
	}
	// Search follows the move: the moved text is found under the new ticket's subject.
	if rows, _ := e.queue("q=mailbox"); !slices.Equal(ids(rows), []int64{nt.ID}) {
		t.Fatalf("search after split: %v", ids(rows))
	}
	if rows, _ := e.queue("q=problem+two+answer"); !slices.Equal(ids(rows), []int64{nt.ID}) {
		t.Fatalf("subject + body search after split: %v", ids(rows))
	}
	// A closed ticket is locked.
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.staff, map[string]any{"status": 3}), 200)
	expect(t, e.json("POST", path, e.staff, map[string]any{"messageId": m2.ID}), http.StatusConflict)
}

func ids2(ms []messageData) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestMerge_KeepsEveryMessageAndAttachmentOnce(t *testing.T) {
	e := newEnv(t)
	dst := e.createTicket(e.alice, acctA, map[string]any{"subject": "Site slow"})
	src := e.createTicket(e.alice, acctA, map[string]any{"subject": "Site slow again"})
	ct, body := multipartBody(t, field("message", "screenshot attached"), filePart("shot.png", "image/png", "PNG"))
	expect(t, e.call("POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", src, acctA), e.alice, ct, body), http.StatusCreated)
	e.staffReply(src, "internal: same as the other", true)
	e.customerReply(e.alice, acctA, dst, "still slow")
	beforeMsgs, beforeAtts := e.messageSet(dst, src)
	other := e.createTicket(e.bob, acctB, nil)

	path := fmt.Sprintf("/api/staff/Ticket/%d/Merge", src)
	expect(t, e.json("POST", path, e.staff, map[string]any{"intoTicketId": src}), http.StatusBadRequest)
	expect(t, e.json("POST", path, e.staff, map[string]any{"intoTicketId": other}), http.StatusBadRequest)
	expect(t, e.json("POST", path, e.staff, map[string]any{"intoTicketId": 9999}), http.StatusBadRequest)
	expect(t, e.json("POST", path, e.staff, map[string]any{}), http.StatusBadRequest)
	r := e.json("POST", path, e.staff, map[string]any{"intoTicketId": dst})
	expect(t, r, http.StatusOK)

	afterMsgs, afterAtts := e.messageSet(dst, src)
	if !slices.Equal(beforeMsgs, afterMsgs) || !slices.Equal(beforeAtts, afterAtts) {
		t.Fatalf("messages %v → %v, attachments %v → %v", beforeMsgs, afterMsgs, beforeAtts, afterAtts)
	}
	s, d := e.staffDetail(src), e.staffDetail(dst)
	if len(s.Messages) != 0 || s.Status != 3 || s.MergedInto == nil || *s.MergedInto != dst {
		t.Fatalf("source after merge: %+v", s)
	}
	if len(d.Messages) != len(beforeMsgs) || d.MessageCount != 5 || d.PublicMessageCount != 4 {
		t.Fatalf("target after merge: %d messages, count %d, public %d", len(d.Messages), d.MessageCount, d.PublicMessageCount)
	}
	if !slices.IsSorted(ids2(d.Messages)) {
		t.Fatal("merged conversation is not in order")
	}
	if h := historyDetails(s, "merged"); len(h) != 1 || h[0] != fmt.Sprintf("merged into #%d", dst) {
		t.Fatalf("source history: %v", h)
	}
	if h := historyDetails(d, "merged"); len(h) != 1 || h[0] != fmt.Sprintf("merged from #%d", src) {
		t.Fatalf("target history: %v", h)
	}
	// The customer sees the merged conversation without the note, and the history of both.
	cd := e.detail(e.alice, acctA, dst)
	if len(cd.Messages) != 4 || cd.MessageCount != 4 {
		t.Fatalf("customer view of the target: %d messages", len(cd.Messages))
	}
	if !slices.ContainsFunc(e.detail(e.alice, acctA, src).History, func(h eventData) bool { return h.Kind == "merged" }) {
		t.Fatal("the customer does not see where the ticket went")
	}
	// Once merged, not again; nothing merges into a closed ticket.
	expect(t, e.json("POST", path, e.staff, map[string]any{"intoTicketId": dst}), http.StatusConflict)
	third := e.createTicket(e.alice, acctA, nil)
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Merge", third), e.staff, map[string]any{"intoTicketId": src}), http.StatusConflict)
}

func TestArchive_CustomerArchivesClosedTickets(t *testing.T) {
	e := newEnv(t)
	open := e.createTicket(e.alice, acctA, map[string]any{"subject": "open one"})
	done := e.createTicket(e.alice, acctA, map[string]any{"subject": "done one"})
	archive := func(key string, id int64, what string) *reply {
		return e.json("POST", fmt.Sprintf("/api/Ticket/%d/%s?accountId=%d", id, what, acctA), key, nil)
	}
	expect(t, archive(e.alice, open, "Archive"), http.StatusConflict)
	expect(t, e.json("POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=%d", done, acctA), e.alice, nil), 200)
	expect(t, archive(e.bob, done, "Archive"), http.StatusForbidden) // not Bob's account
	expect(t, e.json("POST", fmt.Sprintf("/api/Ticket/%d/Archive?accountId=%d", done, acctB), e.bob, nil), http.StatusNotFound)
	expect(t, archive(e.alice, done, "Archive"), 200)
	expect(t, archive(e.alice, done, "Archive"), 200) // twice: nothing more happens

	listIDs := func(query string) []int64 {
		r := e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d%s", acctA, query), e.alice, nil)
		expect(t, r, 200)
		var items []ticketData
		r.data(t, &items)
		out := []int64{}
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	if got := listIDs(""); !slices.Equal(got, []int64{open}) {
		t.Fatalf("default list: %v", got)
	}
	if got := listIDs("&archived=true"); !slices.Equal(got, []int64{done}) {
		t.Fatalf("archived list: %v", got)
	}
	if got := listIDs("&archived=false"); !slices.Equal(got, []int64{open}) {
		t.Fatalf("archived=false list: %v", got)
	}
	expect(t, e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d&archived=yes", acctA), e.alice, nil), 400)
	if rows, _ := e.queue("archived=true"); !slices.Equal(ids(rows), []int64{done}) {
		t.Fatal("staff archived filter")
	}
	if d := e.detail(e.alice, acctA, done); !slices.ContainsFunc(d.History, func(h eventData) bool { return h.Kind == "archived" }) {
		t.Fatal("history lacks the archiving")
	}
	expect(t, archive(e.alice, done, "Unarchive"), 200)
	if got := listIDs(""); !slices.Equal(got, []int64{done, open}) {
		t.Fatalf("after unarchive: %v", got)
	}
}

func TestDepartments(t *testing.T) {
	e := newEnv(t)
	expect(t, e.json("PUT", "/api/admin/Department/2", e.admin, map[string]any{"name": ""}), http.StatusBadRequest)
	expect(t, e.json("PUT", "/api/admin/Department/0", e.admin, map[string]any{"name": "x"}), http.StatusBadRequest)
	e.putDepartment(2, "tech-support")
	e.putDepartment(1, "billing")
	e.putDepartment(2, "Tech support") // upsert keeps the ID
	r := e.json("GET", "/api/staff/Department", e.staff, nil)
	expect(t, r, 200)
	var list []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	r.data(t, &list)
	if len(list) != 2 || list[0].Name != "Tech support" || list[0].ID != 2 || list[1].Name != "billing" || r.env.TotalRecords != 2 {
		t.Fatalf("departments: %s", r.body)
	}
}

func TestDeliveryLists_FailedNotificationsAndRejectedMail(t *testing.T) {
	e := newEnv(t, withNotify)
	id := e.createTicket(e.alice, acctA, nil)
	pending := e.outbox("pending")
	if len(pending) == 0 {
		t.Fatal("no notifications queued")
	}
	ctx := context.Background()
	if err := e.db.MarkFailed(ctx, pending[0].ID, 8, "550 mailbox unavailable"); err != nil {
		t.Fatal(err)
	}
	failed := e.outbox("failed")
	if len(failed) != 1 || failed[0].ID != pending[0].ID || *failed[0].TicketID != id {
		t.Fatalf("failed: %+v", failed)
	}
	r := e.json("GET", "/api/staff/Notification", e.staff, nil) // failed by default
	if r.env.TotalRecords != 1 || !strings.Contains(string(r.body), "550 mailbox unavailable") {
		t.Fatalf("default state: %s", r.body)
	}
	expect(t, e.json("GET", "/api/staff/Notification?state=lost", e.staff, nil), 400)
	expect(t, e.json("GET", "/api/staff/Notification?limit=0", e.staff, nil), 200)
	expect(t, e.json("GET", "/api/staff/Notification?limit=501", e.staff, nil), 400)

	at := time.Now().UTC()
	for i, res := range []core.InboundResult{core.InboundRejected, core.InboundRejected, core.InboundFailed} {
		rec := core.InboundRecord{Channel: core.ChannelEmail, Key: fmt.Sprintf("<m%d@x.test>", i), Result: res,
			Sender: "stranger@x.test", Subject: "hello", Reason: "unknown sender", At: at.Add(time.Duration(i) * time.Second)}
		if err := e.db.Reject(ctx, rec, nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	r = e.json("GET", "/api/staff/InboundMail?result=rejected", e.staff, nil)
	expect(t, r, 200)
	var mails []struct {
		Key    string `json:"key"`
		Result string `json:"result"`
		Sender string `json:"sender"`
		Reason string `json:"reason"`
	}
	r.data(t, &mails)
	if len(mails) != 2 || mails[0].Key != "<m1@x.test>" || mails[0].Sender != "stranger@x.test" || mails[0].Reason != "unknown sender" {
		t.Fatalf("rejected: %s", r.body)
	}
	r = e.json("GET", "/api/staff/InboundMail?result=failed&limit=5", e.staff, nil)
	r.data(t, &mails)
	if len(mails) != 1 || mails[0].Result != "failed" {
		t.Fatalf("failed mail: %s", r.body)
	}
	expect(t, e.json("GET", "/api/staff/InboundMail?result=ticket", e.staff, nil), 400)
}

// A mail reply stored as its new part keeps the whole text it was cut from: staff read it in
// their detail, the customer's detail never carries it.
func TestStaffDetail_FullBodyOfAMailReplyIsStaffOnly(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	alice, err := e.svc.UserByEmail(context.Background(), "alice@a.test")
	if err != nil {
		t.Fatal(err)
	}
	full := "Still broken.\n\nOn Mon, Support wrote:\n> Try again"
	_, _, err = e.svc.Reply(context.Background(), core.Actor{User: alice, Channel: core.ChannelEmail}, core.TicketRef{ID: id},
		core.NewReply{Body: "Still broken.", FullBody: full})
	if err != nil {
		t.Fatal(err)
	}
	staff := e.staffDetail(id).Messages
	if last := staff[len(staff)-1]; last.Message != "Still broken." || last.FullBody != full {
		t.Fatalf("staff sees %q / full %q", last.Message, last.FullBody)
	}
	if staff[0].FullBody != "" {
		t.Errorf("a message stored whole has a full body: %q", staff[0].FullBody)
	}
	r := e.json("GET", fmt.Sprintf("/api/Ticket/%d?accountId=%d", id, acctA), e.alice, nil)
	expect(t, r, http.StatusOK)
	if strings.Contains(string(r.body), "fullBody") || strings.Contains(string(r.body), "Try again") {
		t.Fatalf("the customer's detail carries the full body: %s", r.body)
	}
}

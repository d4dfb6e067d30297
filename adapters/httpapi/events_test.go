package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

type eventRow struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	Data struct {
		Ticket *struct {
			ID        int64 `json:"id"`
			AccountID int64 `json:"accountId"`
		} `json:"ticket"`
		Message *struct {
			ID       int64  `json:"id"`
			Message  string `json:"message"`
			Internal bool   `json:"internal"`
			Hidden   bool   `json:"hidden"`
		} `json:"message"`
	} `json:"data"`
}

func (e *testEnv) events(path, key string) []eventRow {
	e.t.Helper()
	r := e.json("GET", path, key, nil)
	expect(e.t, r, http.StatusOK)
	var out []eventRow
	r.data(e.t, &out)
	return out
}

// TestEvents_CustomerFeedIsPublic makes public replies, an internal note and a message
// hidden afterwards on one account's ticket, and a ticket of another account: the staff feed
// has everything in order; the customer's has their own ticket's public events only, never
// the note or the hidden message, nor any staff-only type.
func TestEvents_CustomerFeedIsPublic(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"subject": "Mail down", "description": "since noon"})
	e.createTicket(e.bob, acctB, map[string]any{"subject": "Other account", "description": "not Alice's"})
	e.staffReply(id, "Looking into it.", false)
	note := e.staffReply(id, "SECRET-NOTE: the customer owes us", true)
	hidden := e.staffReply(id, "HIDDEN-TEXT: wrong ticket, sorry", false)
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Message/%d/Hide", id, hidden.ID), e.staff, nil), http.StatusOK)
	expect(t, e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Assignment", id), e.staff, map[string]any{"assigneeUserId": staffID}), http.StatusOK)
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.staff, map[string]any{"status": 2}), http.StatusOK)
	e.customerReply(e.alice, acctA, id, "Thanks")

	staff := e.events("/api/staff/Event?after=0", e.staff)
	var types []string
	for i, ev := range staff {
		types = append(types, ev.Type)
		if i > 0 && ev.ID <= staff[i-1].ID {
			t.Errorf("staff feed out of order: %d after %d", ev.ID, staff[i-1].ID)
		}
	}
	for _, want := range []string{"ticket.created", "message.created", "message.hidden", "ticket.assigned", "ticket.status_changed"} {
		if !slices.Contains(types, want) {
			t.Errorf("staff feed %v lacks %s", types, want)
		}
	}
	sawNote := slices.ContainsFunc(staff, func(ev eventRow) bool {
		return ev.Data.Message != nil && ev.Data.Message.ID == note.ID && ev.Data.Message.Internal
	})
	if !sawNote {
		t.Error("the staff feed does not show the internal note as internal")
	}

	customer := e.events(fmt.Sprintf("/api/Event?accountId=%d&after=0", acctA), e.alice)
	if len(customer) == 0 {
		t.Fatal("the customer's feed is empty")
	}
	for _, ev := range customer {
		raw := fmt.Sprintf("%+v", ev)
		switch {
		case ev.Data.Ticket == nil || ev.Data.Ticket.AccountID != acctA:
			t.Errorf("customer feed shows another account's ticket: %s", raw)
		case ev.Data.Message != nil && (ev.Data.Message.ID == note.ID || ev.Data.Message.ID == hidden.ID || ev.Data.Message.Internal || ev.Data.Message.Hidden):
			t.Errorf("customer feed shows the note or the hidden message: %s", raw)
		case ev.Type == "message.hidden" || ev.Type == "ticket.assigned" || ev.Type == "notification.failed" || ev.Type == "inbound.rejected":
			t.Errorf("customer feed shows a staff-only event: %s", raw)
		}
	}
	body := string(e.json("GET", fmt.Sprintf("/api/Event?accountId=%d", acctA), e.alice, nil).body)
	if strings.Contains(body, "SECRET-NOTE") || strings.Contains(body, "HIDDEN-TEXT") {
		t.Errorf("the customer's feed carries the note's or the hidden message's text: %s", body)
	}
	// Another customer may not read it.
	expect(t, e.json("GET", fmt.Sprintf("/api/Event?accountId=%d", acctA), e.bob, nil), http.StatusForbidden)
	// Paging: after the last ID there is nothing; limit bounds the page.
	last := staff[len(staff)-1].ID
	if rest := e.events(fmt.Sprintf("/api/staff/Event?after=%d", last), e.staff); len(rest) != 0 {
		t.Errorf("after the last event: %v", rest)
	}
	if page := e.events("/api/staff/Event?after=0&limit=2", e.staff); len(page) != 2 || page[0].ID != staff[0].ID {
		t.Errorf("limit 2: %v", page)
	}
	for _, q := range []string{"after=-1", "limit=-1", "limit=501", "wait=61", "after=x"} {
		r := e.json("GET", "/api/staff/Event?"+q, e.staff, nil)
		name, _, _ := strings.Cut(q, "=")
		if r.status != http.StatusBadRequest || !r.hasError(name) {
			t.Errorf("%s: %s, want 400 naming %s", q, r, name)
		}
	}
	expect(t, e.json("GET", "/api/Event", e.alice, nil), http.StatusBadRequest)
	expect(t, e.json("GET", "/api/staff/Event", e.alice, nil), http.StatusForbidden)
}

// TestEvents_LongPollAnswersWhenAChangeComes waits on the feed past its last event and
// gets the change made meanwhile, before the wait ends.
func TestEvents_LongPollAnswersWhenAChangeComes(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"subject": "Wait for me", "description": "x"})
	all := e.events("/api/staff/Event", e.staff)
	last := all[len(all)-1].ID
	got := make(chan []eventRow, 1)
	go func() {
		r := e.json("GET", fmt.Sprintf("/api/staff/Event?after=%d&wait=30", last), e.staff, nil)
		var out []eventRow
		r.data(t, &out)
		got <- out
	}()
	time.Sleep(200 * time.Millisecond) // the poll is waiting
	e.staffReply(id, "Here it is", false)
	select {
	case evs := <-got:
		if len(evs) != 1 || evs[0].Type != "message.created" || evs[0].ID <= last {
			t.Errorf("the long poll answered %+v", evs)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the long poll did not answer the change")
	}
}

// TestWebhooks_AdminAPI registers, lists, logs and deletes webhooks through the API, and
// refuses a loopback URL unless the desk allows private addresses.
func TestWebhooks_AdminAPI(t *testing.T) {
	e := newEnv(t)
	r := e.json("POST", "/api/admin/Webhook", e.admin, map[string]any{"url": "https://panel.example.com/hook", "events": []string{"ticket.created", "message.created"}})
	expect(t, r, http.StatusCreated)
	var w struct {
		ID     int64    `json:"id"`
		Secret string   `json:"secret"`
		Events []string `json:"events"`
	}
	r.data(t, &w)
	if !strings.HasPrefix(w.Secret, "whsec_") || len(w.Events) != 2 {
		t.Fatalf("created %+v", w)
	}
	list := e.json("GET", "/api/admin/Webhook", e.admin, nil)
	expect(t, list, http.StatusOK)
	if strings.Contains(string(list.body), w.Secret) || strings.Contains(string(list.body), `"secret"`) {
		t.Errorf("the list shows the secret: %s", list.body)
	}
	e.createTicket(e.alice, acctA, map[string]any{"subject": "Hooked", "description": "x"})
	log := e.json("GET", fmt.Sprintf("/api/admin/Webhook/%d/Delivery", w.ID), e.admin, nil)
	expect(t, log, http.StatusOK)
	var deliveries []struct {
		ID    int64  `json:"id"`
		Type  string `json:"type"`
		State string `json:"state"`
	}
	log.data(t, &deliveries)
	if len(deliveries) != 1 || deliveries[0].Type != "ticket.created" || deliveries[0].State != "pending" {
		t.Fatalf("delivery log %s", log.body)
	}
	expect(t, e.json("POST", fmt.Sprintf("/api/admin/Webhook/%d/Delivery/%d/Redeliver", w.ID, deliveries[0].ID), e.admin, nil), http.StatusOK)
	expect(t, e.json("POST", fmt.Sprintf("/api/admin/Webhook/%d/Delivery/%d/Redeliver", w.ID, deliveries[0].ID+100), e.admin, nil), http.StatusNotFound)

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "http://127.0.0.1:8080/hook", "events": []string{"ticket.created"}}, "url"},
		{map[string]any{"url": "http://localhost/hook", "events": []string{"ticket.created"}}, "url"},
		{map[string]any{"url": "ftp://panel.example.com/", "events": []string{"ticket.created"}}, "url"},
		{map[string]any{"url": "https://panel.example.com/", "events": []string{"ticket.deleted"}}, "events"},
		{map[string]any{"url": "https://panel.example.com/"}, "events"},
		{map[string]any{"events": []string{"ticket.created"}}, "url"},
	} {
		r := e.json("POST", "/api/admin/Webhook", e.admin, c.body)
		if r.status != http.StatusBadRequest || !r.hasError(c.field) {
			t.Errorf("%v: %s, want 400 naming %s", c.body, r, c.field)
		}
	}
	expect(t, e.json("POST", "/api/admin/Webhook", e.staff, map[string]any{"url": "https://x.example/", "events": []string{"ticket.created"}}), http.StatusForbidden)
	expect(t, e.json("DELETE", fmt.Sprintf("/api/admin/Webhook/%d", w.ID), e.admin, nil), http.StatusOK)
	expect(t, e.json("DELETE", fmt.Sprintf("/api/admin/Webhook/%d", w.ID), e.admin, nil), http.StatusNotFound)
	expect(t, e.json("GET", fmt.Sprintf("/api/admin/Webhook/%d/Delivery", w.ID), e.admin, nil), http.StatusNotFound)

	allowed := newEnv(t, func(_ *core.Options, o *httpapi.Options) { o.WebhooksAllowPrivate = true })
	expect(t, allowed.json("POST", "/api/admin/Webhook", allowed.admin, map[string]any{"url": "http://127.0.0.1:8080/hook", "events": []string{"ticket.created"}}), http.StatusCreated)
}

// TestWebhookPayload_LongMessageIsCutToTheBound renders the payload of a reply far longer
// than a webhook body may be: it fits, is valid JSON, says it was cut, and keeps the start
// of the text whole (no rune split, escapes counted).
func TestWebhookPayload_LongMessageIsCutToTheBound(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"subject": "Long", "description": "x"})
	long := strings.Repeat("Привет <мир> & \"quotes\" \x01 ", 20000) // multi-byte, and escaped by JSON
	_, _, err := e.svc.Reply(t.Context(), core.System(), core.TicketRef{ID: id}, core.NewReply{Body: long})
	if err != nil {
		t.Fatal(err)
	}
	changes, err := e.svc.Changes(t.Context(), core.System(), core.ChangeFilter{})
	if err != nil || len(changes) < 2 {
		t.Fatalf("changes %v, %v", changes, err)
	}
	const limit = 64 << 10
	out, err := httpapi.WebhookPayload(e.svc, limit)(t.Context(), changes[len(changes)-1])
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data struct {
			Message struct {
				Message string `json:"message"`
			} `json:"message"`
			MessageTruncated bool `json:"messageTruncated"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &body); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	got := body.Data.Message.Message
	if len(out) > limit || !body.Data.MessageTruncated || len(got) < limit/4 || !strings.HasPrefix(long, got) || !utf8.ValidString(got) {
		t.Errorf("%d bytes (limit %d), truncated %v, kept %d bytes of the text, a prefix %v", len(out), limit,
			body.Data.MessageTruncated, len(got), strings.HasPrefix(long, got))
	}
	// A short one is whole and not marked.
	short, err := httpapi.WebhookPayload(e.svc, limit)(t.Context(), changes[0])
	if err != nil || strings.Contains(string(short), "messageTruncated") {
		t.Errorf("short payload %s, %v", short, err)
	}
}

// TestAudit_AdminReadsTheLog: entries written by use cases are listed for admins, newest
// first and filtered; others are refused.
func TestAudit_AdminReadsTheLog(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	for _, a := range []core.AuditEntry{{At: now, Action: "user.export", Subject: "user:3"}, {At: now, ActorUserID: adminID, Action: "user.erase", Subject: "user:4"}} {
		if err := e.db.Write(t.Context(), func(tx core.Tx) error { return tx.AddAudit(t.Context(), &a) }); err != nil {
			t.Fatal(err)
		}
	}
	var got []struct {
		Action      string `json:"action"`
		ActorUserID *int64 `json:"actorUserId"`
	}
	r := e.json("GET", "/api/admin/Audit", e.admin, nil)
	expect(t, r, http.StatusOK)
	r.data(t, &got)
	if len(got) != 2 || got[0].Action != "user.erase" || got[0].ActorUserID == nil || got[1].ActorUserID != nil {
		t.Errorf("audit log %s", r.body)
	}
	r = e.json("GET", "/api/admin/Audit?subject=user:3", e.admin, nil)
	r.data(t, &got)
	if len(got) != 1 || got[0].Action != "user.export" {
		t.Errorf("by subject: %s", r.body)
	}
	expect(t, e.json("GET", "/api/admin/Audit", e.staff, nil), http.StatusForbidden)
	if r := e.json("GET", "/api/admin/Audit?limit=501", e.admin, nil); r.status != http.StatusBadRequest || !r.hasError("limit") {
		t.Errorf("limit 501: %s", r)
	}
}

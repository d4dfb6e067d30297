package httpapi_test

import (
	"database/sql"
	"fmt"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"net/http"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// The message a ticket is split at becomes the new ticket's description, which the customer
// reads: an internal note or a hidden message there is refused (409, naming messageId), and
// nothing moves.
func TestSplit_RefusesInternalOrHiddenSplitPoint(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, map[string]any{"subject": "Two problems"})
	e.customerReply(e.alice, acctA, id, "problem two")
	note := e.staffReply(id, "internal: the customer is on the old plan", true)
	hidden := e.staffReply(id, "an answer staff took back", false)
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Message/%d/Hide", id, hidden.ID), e.staff, nil), http.StatusOK)
	public := e.customerReply(e.alice, acctA, id, "problem three")
	path := fmt.Sprintf("/api/staff/Ticket/%d/Split", id)

	tests := []struct {
		name    string
		message int64
		says    string
	}{
		{"internal note", note.ID, "internal note"},
		{"hidden message", hidden.ID, "hidden message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.messageSet(id)
			r := e.json("POST", path, e.staff, map[string]any{"messageId": tt.message, "subject": "Split off"})
			expect(t, r, http.StatusConflict)
			if !strings.Contains(r.env.Message, tt.says) || !strings.Contains(r.env.Message, "description") || !r.hasError("messageId:") {
				t.Errorf("the refusal does not say why: %s", r.body)
			}
			if after, _ := e.messageSet(id); !slices.Equal(before, after) {
				t.Errorf("messages %v → %v after a refused split", before, after)
			}
		})
	}
	if rows, _ := e.queue(""); len(rows) != 1 {
		t.Fatalf("%d tickets after refused splits, want 1", len(rows))
	}

	// At a public message the split works, and the new ticket starts with it.
	r := e.json("POST", path, e.staff, map[string]any{"messageId": public.ID})
	expect(t, r, http.StatusCreated)
	var nt ticketData
	r.data(t, &nt)
	got := e.detail(e.alice, acctA, nt.ID)
	if got.Description != "problem three" || len(got.Messages) != 1 || got.Messages[0].ID != public.ID {
		t.Errorf("new ticket as the customer sees it: %+v", got)
	}
}

// Merging keeps messages in ID order, so the older ticket's first message becomes the
// target's first: it is public, as every first message is. A ticket that starts with an
// internal note (split before the rule above existed) is not merged in front of another.
func TestMerge_FirstMessageStaysPublic(t *testing.T) {
	e := newEnv(t)
	older := e.createTicket(e.alice, acctA, map[string]any{"subject": "Old", "description": "the old problem"})
	e.staffReply(older, "internal on the old one", true)
	newer := e.createTicket(e.alice, acctA, map[string]any{"subject": "New", "description": "the new problem"})
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Merge", older), e.staff, map[string]any{"intoTicketId": newer}), http.StatusOK)
	d := e.staffDetail(newer)
	if first := d.Messages[0]; first.Internal || first.Hidden || first.Message != "the old problem" {
		t.Errorf("merged ticket starts with %+v", first)
	}

	legacy := e.createTicket(e.alice, acctA, map[string]any{"subject": "Legacy"})
	target := e.createTicket(e.alice, acctA, map[string]any{"subject": "Target"})
	sq, ok := e.db.(*sqlite.DB)
	if !ok {
		t.Skip("writes a row of an older desk straight into the SQLite file")
	}
	raw, err := sql.Open("sqlite", sq.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE messages SET internal = 1 WHERE ticket_id = ?`, legacy); err != nil {
		t.Fatal(err)
	}
	before, _ := e.messageSet(target)
	r := e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Merge", legacy), e.staff, map[string]any{"intoTicketId": target})
	expect(t, r, http.StatusConflict)
	if !strings.Contains(r.env.Message, "internal note or a hidden message") {
		t.Errorf("the refusal does not say why: %s", r.body)
	}
	if after, _ := e.messageSet(target); !slices.Equal(before, after) {
		t.Errorf("target messages %v → %v after a refused merge", before, after)
	}
	if d := e.staffDetail(legacy); d.Status == 3 || d.MergedInto != nil {
		t.Errorf("refused merge changed the source: status %d, mergedInto %v", d.Status, d.MergedInto)
	}
}

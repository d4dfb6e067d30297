package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

// TestStateMachine_OverHTTP walks the state machine's table (docs/contract.md §2) cell by cell through the HTTP endpoints.
func TestStateMachine_OverHTTP(t *testing.T) {
	const (
		open, inProgress, resolved, closed = 0, 1, 2, 3
		refused                            = -1 // 409, status unchanged
	)
	names := map[int]string{open: "Open", inProgress: "In Progress", resolved: "Resolved", closed: "Closed"}

	type event struct {
		name string
		do   func(e *testEnv, id int64) *reply
		ok   int // the status code of an accepted event
	}
	events := []event{
		{"customer reply", func(e *testEnv, id int64) *reply {
			return e.json("POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", id, acctA), e.alice, map[string]any{"message": "customer says"})
		}, http.StatusCreated},
		{"staff reply", func(e *testEnv, id int64) *reply {
			return e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, map[string]any{"message": "staff says"})
		}, http.StatusCreated},
		{"staff In Progress", func(e *testEnv, id int64) *reply {
			return e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.staff, map[string]any{"status": inProgress})
		}, http.StatusOK},
		{"staff Resolved", func(e *testEnv, id int64) *reply {
			return e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.staff, map[string]any{"status": resolved})
		}, http.StatusOK},
		{"customer close", func(e *testEnv, id int64) *reply {
			return e.json("POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=%d", id, acctA), e.alice, nil)
		}, http.StatusOK},
		{"staff close", func(e *testEnv, id int64) *reply {
			return e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.staff, map[string]any{"status": closed})
		}, http.StatusOK},
	}
	// table[from][event] is the status after the event, in the order of events.
	table := map[int][]int{
		open:       {open, open, inProgress, resolved, closed, closed},
		inProgress: {inProgress, inProgress, inProgress, resolved, closed, closed},
		resolved:   {open, resolved, inProgress, resolved, closed, closed},
		closed:     {refused, refused, refused, refused, closed, closed},
	}

	e := newEnv(t)
	// bring puts a new ticket in status from.
	bring := func(t *testing.T, from int) int64 {
		t.Helper()
		id := e.createTicket(e.alice, acctA, nil)
		switch from {
		case inProgress, resolved:
			expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.staff, map[string]any{"status": from}), 200)
		case closed:
			expect(t, e.json("POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=%d", id, acctA), e.alice, nil), 200)
		}
		if got := e.detail(e.staff, acctA, id).Status; got != from {
			t.Fatalf("set up in %s, got %d", names[from], got)
		}
		return id
	}

	for _, from := range []int{open, inProgress, resolved, closed} {
		for i, ev := range events {
			want := table[from][i]
			t.Run(fmt.Sprintf("%s/%s", names[from], ev.name), func(t *testing.T) {
				id := bring(t, from)
				before := e.detail(e.staff, acctA, id)

				r := ev.do(e, id)
				if want == refused {
					expect(t, r, http.StatusConflict)
				} else {
					expect(t, r, ev.ok)
				}

				after := e.detail(e.staff, acctA, id)
				wantStatus := want
				if want == refused {
					wantStatus = from
				}
				if after.Status != wantStatus {
					t.Fatalf("status %d, want %d (%s)", after.Status, wantStatus, names[wantStatus])
				}
				if wantStatus == from {
					if len(after.History) != len(before.History) {
						t.Errorf("no change recorded a transition: %+v", after.History[len(before.History):])
					}
				} else {
					last := after.History[len(after.History)-1]
					if len(after.History) != len(before.History)+1 || last.Kind != "status" || *last.From != from || *last.To != wantStatus {
						t.Errorf("history %+v, want one %d→%d", after.History, from, wantStatus)
					}
				}
				if want == refused && len(after.Messages) != len(before.Messages) {
					t.Error("a refused reply was stored")
				}
			})
		}
	}

	t.Run("customers cannot set In Progress or Resolved", func(t *testing.T) {
		id := bring(t, open)
		for _, st := range []int{inProgress, resolved} {
			expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.alice, map[string]any{"status": st}), http.StatusForbidden)
		}
	})
}

func TestStateMachine_StaffReplySetsInProgressWhenConfigured(t *testing.T) {
	e := newEnv(t, func(c *core.Options, _ *httpapi.Options) { c.StaffReplyInProgress = true })
	id := e.createTicket(e.alice, acctA, nil)
	expect(t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), e.staff, map[string]any{"message": "looking"}), http.StatusCreated)
	if got := e.detail(e.alice, acctA, id).Status; got != 1 {
		t.Errorf("status %d, want 1 (In Progress)", got)
	}
}

package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/core"
)

// The change log as panels read it: the change feed (GET /api/staff/Event, GET /api/Event)
// and the webhook payloads, one shape for both.

// eventData is what a change is about, in the API's own shapes.
type eventData struct {
	Ticket         *eventTicket `json:"ticket"`
	Message        *messageDTO  `json:"message,omitempty"`
	From           *core.Status `json:"from,omitempty"`
	To             *core.Status `json:"to,omitempty"`
	AssigneeUserID *int64       `json:"assigneeUserId,omitempty"`
	DepartmentID   *int64       `json:"departmentId,omitempty"`
	Detail         string       `json:"detail,omitempty"`
	// MessageTruncated says the message's text was cut to keep a webhook's body within
	// its bound; the ticket's detail has it whole.
	MessageTruncated bool `json:"messageTruncated,omitempty"`
}

// eventTicket is a ticket as the list answers it, with its account and user.
type eventTicket struct {
	ticketItem
	AccountID int64 `json:"accountId"`
	UserID    int64 `json:"userId"`
}

// eventDTO is one change of the feed; ID is its place in the feed (core.Change.Seq), what
// the client passes as after.
type eventDTO struct {
	ID        int64           `json:"id"`
	Type      core.ChangeType `json:"type"`
	Timestamp timestamp       `json:"timestamp"`
	Data      eventData       `json:"data"`
}

// toEventData renders a change; staff see a message as staff do (its full text, whether
// it was verified), customers as customers.
func toEventData(v *core.ChangeView, staff bool) eventData {
	d := eventData{Detail: v.Detail}
	if v.Ticket != nil {
		d.Ticket = &eventTicket{ticketItem: toTicketItem(v.Ticket), AccountID: v.Ticket.AccountID, UserID: v.Ticket.UserID}
	}
	if v.Message != nil {
		m := toMessage(v.Message)
		if staff {
			m.FullBody = v.Message.FullBody
			verified := !v.Message.Unverified
			m.Verified = &verified
		}
		d.Message = &m
	}
	switch v.Type {
	case core.ChangeTicketStatusChanged:
		d.From, d.To = &v.From, &v.To
	case core.ChangeTicketAssigned:
		d.AssigneeUserID, d.DepartmentID = &v.AssigneeUserID, &v.DepartmentID
	}
	return d
}

// WebhookPayload returns the renderer of webhook bodies, {type, timestamp, data} with data
// as the staff change feed has it: the desk's own panel receives them. The webhook-id
// header, not the body, identifies a delivery. A body over maxBytes (a long mail) has its
// message's text cut to fit, and says so (messageTruncated).
func WebhookPayload(svc *core.Service, maxBytes int) func(ctx context.Context, c core.Change) ([]byte, error) {
	return func(ctx context.Context, c core.Change) ([]byte, error) {
		views, err := svc.ViewChanges(ctx, []core.Change{c})
		if err != nil {
			return nil, err
		}
		body := struct {
			Type      core.ChangeType `json:"type"`
			Timestamp timestamp       `json:"timestamp"`
			Data      eventData       `json:"data"`
		}{c.Type, timestamp(c.At), toEventData(&views[0], true)}
		out, err := json.Marshal(body)
		if err != nil || len(out) <= maxBytes || body.Data.Message == nil {
			return out, err
		}
		m := body.Data.Message
		m.FullBody = ""
		body.Data.MessageTruncated = true
		// The longest prefix that fits, found by halving: JSON spells some bytes of text as
		// six (\u003c), so the excess in bytes does not say how much text to cut.
		text := m.Message
		lo, hi := 0, len(text)
		m.Message = ""
		if out, err = json.Marshal(body); err != nil {
			return nil, err
		}
		for lo < hi {
			mid := (lo + hi + 1) / 2
			m.Message = cutBytes(text, mid)
			b, err := json.Marshal(body)
			if err != nil {
				return nil, err
			}
			if len(b) <= maxBytes {
				lo, out = mid, b
			} else {
				hi = mid - 1
			}
		}
		return out, nil
	}
}

// cutBytes is s cut to at most n bytes on a rune boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// maxEventWait bounds a long poll; the feed polls the log this often meanwhile.
const (
	maxEventWait   = 60 * time.Second
	eventPollEvery = 100 * time.Millisecond
)

// GET /api/staff/Event?after=&limit=&wait=&accountId=
func (s *server) staffEvents(w http.ResponseWriter, r *http.Request) {
	var bad core.FieldErrors
	var account int64
	if r.URL.Query().Get("accountId") != "" {
		account = accountIDInto(&bad, r)
	}
	s.events(w, r, &bad, account, true)
}

// GET /api/Event?accountId=&after=&limit=&wait=
func (s *server) customerEvents(w http.ResponseWriter, r *http.Request) {
	var bad core.FieldErrors
	account := accountIDInto(&bad, r)
	s.events(w, r, &bad, account, false)
}

// events answers a page of the feed after the after query parameter, waiting up to wait
// seconds for one when there is none yet. The answer's data is the events; the client
// passes the last one's id as after next time.
func (s *server) events(w http.ResponseWriter, r *http.Request, bad *core.FieldErrors, account int64, staff bool) {
	q := r.URL.Query()
	f := core.ChangeFilter{AccountID: account, Public: !staff}
	if v := optInt(bad, "after", q.Get("after"), 64); v != nil {
		f.After = *v
	}
	if v := optInt(bad, "limit", q.Get("limit"), 32); v != nil {
		f.Limit = int(*v)
	}
	var wait time.Duration
	if v := optInt(bad, "wait", q.Get("wait"), 32); v != nil {
		if *v < 0 || time.Duration(*v)*time.Second > maxEventWait {
			bad.Add("wait", "must be between 0 and 60 seconds")
		} else {
			wait = time.Duration(*v) * time.Second
		}
	}
	if err := bad.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	deadline := time.Now().Add(wait)
	actor := actorOf(r)
	for {
		list, err := s.svc.Changes(ctx, actor, f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(list) > 0 || !time.Now().Before(deadline) {
			views, err := s.svc.ViewChanges(ctx, list)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			out := make([]eventDTO, 0, len(views))
			for i := range views {
				v := &views[i]
				out = append(out, eventDTO{ID: v.Seq, Type: v.Type, Timestamp: timestamp(v.At), Data: toEventData(v, staff)})
			}
			s.respondList(w, r, "Events retrieved successfully.", out, wholeList(len(out)))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(eventPollEvery):
		}
	}
}

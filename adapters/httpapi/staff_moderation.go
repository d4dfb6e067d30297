package httpapi

import (
	"net/http"
	"strconv"

	"github.com/helpdeskd/helpdeskd/core"
)

// Staff endpoints that change messages and the shape of tickets: hide, edit and their
// revisions, split and merge.

// ticketMessageIDs reads {id} and {messageId}.
func ticketMessageIDs(r *http.Request) (int64, int64, error) {
	var bad core.FieldErrors
	id, err := pathID(r, "id")
	if err != nil {
		bad = append(bad, core.ErrorFields(err)...)
	}
	mid, err := pathID(r, "messageId")
	if err != nil {
		bad = append(bad, core.ErrorFields(err)...)
	}
	return id, mid, bad.Err()
}

// POST /api/staff/Ticket/{id}/Message/{messageId}/Hide and /Unhide
func (s *server) staffHide(hidden bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, mid, err := ticketMessageIDs(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		m, err := s.svc.SetMessageHidden(r.Context(), actorOf(r), id, mid, hidden)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		msg := "Message hidden from the customer."
		if !hidden {
			msg = "Message shown to the customer again."
		}
		s.respond(w, r, http.StatusOK, msg, toMessage(m))
	}
}

type editMessageRequest struct {
	Message string `json:"message"`
}

// PUT /api/staff/Ticket/{id}/Message/{messageId} — {message}; the old text is kept.
func (s *server) staffEditMessage(w http.ResponseWriter, r *http.Request) {
	id, mid, err := ticketMessageIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req editMessageRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.svc.EditMessage(r.Context(), actorOf(r), id, mid, req.Message)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Message edited successfully.", toMessage(m))
}

// GET /api/staff/Ticket/{id}/Message/{messageId}/Revisions
func (s *server) staffRevisions(w http.ResponseWriter, r *http.Request) {
	id, mid, err := ticketMessageIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.svc.MessageRevisions(r.Context(), actorOf(r), id, mid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]revisionDTO, 0, len(list))
	for _, rv := range list {
		out = append(out, revisionDTO{ID: rv.ID, Message: rv.Body, EditedBy: optional(rv.EditedBy), EditedAt: timestamp(rv.EditedAt)})
	}
	s.respondList(w, r, "Revisions retrieved successfully.", out, wholeList(len(out)))
}

type splitRequest struct {
	MessageID *int64 `json:"messageId"`
	Subject   string `json:"subject"`
}

// POST /api/staff/Ticket/{id}/Split — {messageId, subject?}; 201 with the new ticket.
func (s *server) staffSplit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req splitRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.MessageID == nil {
		s.writeError(w, r, invalid("messageId", "is required"))
		return
	}
	t, err := s.svc.SplitTicket(r.Context(), actorOf(r), id, *req.MessageID, req.Subject)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/staff/Ticket/"+strconv.FormatInt(t.ID, 10))
	s.respond(w, r, http.StatusCreated, "Ticket split successfully.", toTicketItem(t))
}

type mergeRequest struct {
	IntoTicketID *int64 `json:"intoTicketId"`
}

// POST /api/staff/Ticket/{id}/Merge — {intoTicketId}; 200 with the target ticket.
func (s *server) staffMerge(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req mergeRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.IntoTicketID == nil {
		s.writeError(w, r, invalid("intoTicketId", "is required"))
		return
	}
	t, err := s.svc.MergeTickets(r.Context(), actorOf(r), id, *req.IntoTicketID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Tickets merged successfully.", toTicketItem(t))
}

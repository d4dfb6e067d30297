package httpapi

import (
	"net/http"

	"helpdeskd/core"
)

// The first staff endpoints (SPEC §4.2): enough to drive the state machine over HTTP. The
// routes sit behind requireRole, so a customer gets 403 before anything is decoded.

type setStatusRequest struct {
	Status *core.Status `json:"status"`
}

// POST /api/staff/Ticket/{id}/Status
func (s *server) staffSetStatus(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req setStatusRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Status == nil {
		s.writeError(w, r, invalid("status", "is required"))
		return
	}
	t, err := s.svc.SetStatus(r.Context(), actorOf(r), core.TicketRef{ID: id}, *req.Status)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Ticket status updated successfully.", toTicketSummary(t))
}

type staffReplyRequest struct {
	Message  string `json:"message"`
	Internal bool   `json:"internal"`
}

// POST /api/staff/Ticket/{id}/Reply
func (s *server) staffReply(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req staffReplyRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, _, err := s.svc.Reply(r.Context(), actorOf(r), core.TicketRef{ID: id},
		core.NewReply{Body: req.Message, Internal: req.Internal})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	msg := "Reply added successfully."
	if m.Internal {
		msg = "Internal note added successfully."
	}
	s.respond(w, r, http.StatusCreated, msg, toMessage(m))
}

package httpapi

import (
	"net/http"

	"github.com/helpdeskd/helpdeskd/core"
)

// Canned replies, managed by staff: GET, POST /api/staff/CannedReply and GET, PUT, DELETE
// /api/staff/CannedReply/{id}. A staff reply sends one with cannedReplyId (staff.go).

type cannedReplyRequest struct {
	Name   *string `json:"name"`
	Body   *string `json:"body"`
	Status *int    `json:"status"`
}

type cannedReplyDTO struct {
	ID        int64        `json:"id"`
	Name      string       `json:"name"`
	Body      string       `json:"body"`
	Status    *core.Status `json:"status"`
	CreatedAt timestamp    `json:"createdAt"`
	UpdatedAt timestamp    `json:"updatedAt"`
	UpdatedBy *int64       `json:"updatedBy"`
}

func toCannedReply(c *core.CannedReply) cannedReplyDTO {
	return cannedReplyDTO{ID: c.ID, Name: c.Name, Body: c.Body, Status: c.Status, CreatedAt: timestamp(c.CreatedAt),
		UpdatedAt: timestamp(c.UpdatedAt), UpdatedBy: optional(c.UpdatedBy)}
}

// cannedReplyField is a reply's cannedReplyId: 0 when absent or null; a number that can
// name no canned reply is the caller's mistake, said as such.
func cannedReplyField(id *int64) (int64, error) {
	if id == nil {
		return 0, nil
	}
	if *id <= 0 {
		return 0, invalid("cannedReplyId", "must be a positive integer")
	}
	return *id, nil
}

// decodeCannedReply reads a create or update: name and body are required, status optional.
func decodeCannedReply(r *http.Request) (core.NewCannedReply, error) {
	var req cannedReplyRequest
	if err := decodeJSON(r, &req); err != nil {
		return core.NewCannedReply{}, err
	}
	var bad core.FieldErrors
	var in core.NewCannedReply
	if req.Name == nil {
		bad.Add("name", "is required")
	} else {
		in.Name = *req.Name
	}
	if req.Body == nil {
		bad.Add("body", "is required")
	} else {
		in.Body = *req.Body
	}
	if req.Status != nil {
		st := core.Status(*req.Status)
		in.Status = &st
	}
	return in, bad.Err()
}

// GET /api/staff/CannedReply — every canned reply, by name.
func (s *server) listCannedReplies(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.CannedReplies(r.Context(), actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := convertAll(list, toCannedReply)
	s.respondList(w, r, "Canned replies retrieved successfully.", out, wholeList(len(out)))
}

// GET /api/staff/CannedReply/{id}
func (s *server) getCannedReply(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.svc.CannedReply(r.Context(), actorOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Canned reply retrieved successfully.", toCannedReply(c))
}

// POST /api/staff/CannedReply
func (s *server) createCannedReply(w http.ResponseWriter, r *http.Request) {
	in, err := decodeCannedReply(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.svc.CreateCannedReply(r.Context(), actorOf(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusCreated, "Canned reply created successfully.", toCannedReply(c))
}

// PUT /api/staff/CannedReply/{id} — replaces name, body and status (an absent status: none).
func (s *server) updateCannedReply(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := decodeCannedReply(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.svc.UpdateCannedReply(r.Context(), actorOf(r), id, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Canned reply saved successfully.", toCannedReply(c))
}

// DELETE /api/staff/CannedReply/{id}
func (s *server) deleteCannedReply(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteCannedReply(r.Context(), actorOf(r), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Canned reply deleted successfully.", nil)
}

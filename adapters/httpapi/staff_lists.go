package httpapi

import (
	"net/http"

	"github.com/helpdeskd/helpdeskd/core"
)

// Staff endpoints that list the desk's own state: departments, failed notifications and
// inbound mail.

// GET /api/staff/Department
func (s *server) staffDepartments(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Departments(r.Context(), actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]departmentDTO, 0, len(list))
	for _, d := range list {
		out = append(out, departmentDTO{ID: d.ID, Name: d.Name})
	}
	s.respondList(w, r, "Departments retrieved successfully.", out, wholeList(len(out)))
}

// limitParam reads the optional limit query parameter of the operations lists.
func limitParam(bad *core.FieldErrors, r *http.Request) int {
	if v := optInt(bad, "limit", r.URL.Query().Get("limit"), 32); v != nil {
		return int(*v)
	}
	return 0
}

// GET /api/staff/Notification?state=failed&limit=N
func (s *server) staffNotifications(w http.ResponseWriter, r *http.Request) {
	var bad core.FieldErrors
	limit := limitParam(&bad, r)
	state := r.URL.Query().Get("state")
	if state == "" {
		state = string(core.NotificationFailed)
	}
	if err := bad.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.svc.Notifications(r.Context(), actorOf(r), core.NotificationState(state), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := convertAll(list, toNotification)
	s.respondList(w, r, "Notifications retrieved successfully.", out, wholeList(len(out)))
}

// GET /api/staff/InboundMail?result=rejected&limit=N
func (s *server) staffInbound(w http.ResponseWriter, r *http.Request) {
	var bad core.FieldErrors
	limit := limitParam(&bad, r)
	result := r.URL.Query().Get("result")
	if result == "" {
		result = "rejected"
	}
	if err := bad.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.svc.InboundMessages(r.Context(), actorOf(r), core.InboundResult(result), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := convertAll(list, toInbound)
	s.respondList(w, r, "Inbound messages retrieved successfully.", out, wholeList(len(out)))
}

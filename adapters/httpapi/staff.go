package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The staff endpoints: the ticket workflow. The routes sit behind requireRole,
// so a customer gets 403 before anything is decoded; core checks the role again.

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
	// CannedReplyID sends a canned reply (staff_canned.go); null or absent: none.
	CannedReplyID *int64 `json:"cannedReplyId"`
}

// POST /api/staff/Ticket/{id}/Reply — JSON {message, internal, cannedReplyId} or multipart
// with the same fields and one optional file.
func (s *server) staffReply(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := s.decodeStaffReply(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.svc.StaffReply(r.Context(), actorOf(r), id, in)
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

func (s *server) decodeStaffReply(r *http.Request) (core.NewReply, error) {
	kind, err := kindOf(r, true)
	if err != nil {
		return core.NewReply{}, err
	}
	if kind == bodyJSON {
		var req staffReplyRequest
		if err := decodeJSONBody(r, &req); err != nil {
			return core.NewReply{}, err
		}
		canned, err := cannedReplyField(req.CannedReplyID)
		return core.NewReply{Body: req.Message, Internal: req.Internal, CannedReplyID: canned}, err
	}
	f, err := s.readForm(r, map[string]int64{"message": s.maxBody, "internal": maxShortFieldBytes, "cannedReplyId": maxShortFieldBytes})
	if err != nil {
		return core.NewReply{}, err
	}
	var bad core.FieldErrors
	internal := optBool(&bad, "internal", f.values["internal"])
	canned := optInt(&bad, "cannedReplyId", f.values["cannedReplyId"], 64)
	if err := bad.Err(); err != nil {
		return core.NewReply{}, err
	}
	cannedID, err := cannedReplyField(canned)
	return core.NewReply{Body: f.values["message"], Internal: internal != nil && *internal, Files: f.files(),
		CannedReplyID: cannedID}, err
}

// optBool parses an optional boolean form or query value ("true", "false", "1", "0");
// "" is absent.
func optBool(bad *core.FieldErrors, name, v string) *bool {
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		bad.Add(name, "must be true or false")
		return nil
	}
	return &b
}

// GET /api/staff/Ticket — the queue across accounts.
func (s *server) staffQueue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var bad core.FieldErrors
	var f core.QueueFilter
	if v := optInt(&bad, "status", q.Get("status"), 32); v != nil {
		st := core.Status(*v)
		f.Status = &st
	}
	if v := optInt(&bad, "topic", q.Get("topic"), 32); v != nil {
		tp := core.Topic(*v)
		f.Topic = &tp
	}
	f.AccountID = optInt(&bad, "accountId", q.Get("accountId"), 64)
	f.PropertyID = optInt(&bad, "propertyId", q.Get("propertyId"), 64)
	f.AssigneeUserID = optInt(&bad, "assigneeUserId", q.Get("assigneeUserId"), 64)
	f.DepartmentID = optInt(&bad, "departmentId", q.Get("departmentId"), 64)
	f.Archived = optBool(&bad, "archived", q.Get("archived"))
	flag := func(name string) bool {
		v := optBool(&bad, name, q.Get(name))
		return v != nil && *v
	}
	f.Unassigned, f.Unread, f.Favourite, f.Overdue = flag("unassigned"), flag("unread"), flag("favourite"), flag("overdue")
	f.Breached = flag("breached")
	f.Search = q.Get("q")
	f.Sort = core.QueueSort(q.Get("sort"))
	f.Order = q.Get("order")
	f.Page = pageQuery(&bad, q)
	if err := bad.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, total, err := s.svc.Queue(r.Context(), actorOf(r), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.svc.Now()
	items := make([]queueItemDTO, 0, len(list))
	for i := range list {
		items = append(items, toQueueItem(&list[i], now))
	}
	p := pageOf(f.Page, total.N)
	p.capped = total.Capped
	s.respondList(w, r, "Tickets retrieved successfully.", items, p)
}

// GET /api/staff/Ticket/{id} — every message, internal and hidden ones included; marks the
// ticket read for the caller.
func (s *server) staffGetTicket(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.StaffTicket(r.Context(), actorOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Ticket retrieved successfully.", toStaffTicketDetail(d, s.svc.Now()))
}

// respondItem answers a staff change with the ticket's queue row.
func (s *server) respondItem(w http.ResponseWriter, r *http.Request, msg string, it *core.QueueItem, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, msg, toQueueItem(it, s.svc.Now()))
}

type assignRequest struct {
	AssigneeUserID *int64 `json:"assigneeUserId"`
	DepartmentID   *int64 `json:"departmentId"`
}

// PUT /api/staff/Ticket/{id}/Assignment — sets both; null or absent clears one.
func (s *server) staffAssign(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req assignRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var user, dept int64
	if req.AssigneeUserID != nil {
		user = *req.AssigneeUserID
	}
	if req.DepartmentID != nil {
		dept = *req.DepartmentID
	}
	it, err := s.svc.Assign(r.Context(), actorOf(r), id, user, dept)
	s.respondItem(w, r, "Ticket assigned successfully.", it, err)
}

type deadlineRequest struct {
	DueAt *string `json:"dueAt"`
}

// PUT /api/staff/Ticket/{id}/Deadline — {dueAt: RFC 3339 time or null}.
func (s *server) staffDeadline(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req deadlineRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var due time.Time
	if req.DueAt != nil {
		if due, err = time.Parse(time.RFC3339, *req.DueAt); err != nil {
			s.writeError(w, r, invalid("dueAt", "must be an RFC 3339 time such as 2030-01-02T15:04:05Z, or null"))
			return
		}
	}
	it, err := s.svc.SetDeadline(r.Context(), actorOf(r), id, due)
	s.respondItem(w, r, "Deadline updated successfully.", it, err)
}

// PUT and DELETE /api/staff/Ticket/{id}/Favourite
func (s *server) staffFavourite(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		it, err := s.svc.SetFavourite(r.Context(), actorOf(r), id, on)
		msg := "Ticket added to favourites."
		if !on {
			msg = "Ticket removed from favourites."
		}
		s.respondItem(w, r, msg, it, err)
	}
}

// PUT and DELETE /api/staff/Ticket/{id}/Read
func (s *server) staffRead(read bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		it, err := s.svc.SetRead(r.Context(), actorOf(r), id, read)
		msg := "Ticket marked read."
		if !read {
			msg = "Ticket marked unread."
		}
		s.respondItem(w, r, msg, it, err)
	}
}

// GET /api/staff/Ticket/{id}/History
func (s *server) staffHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.svc.History(r.Context(), actorOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := convertAll(list, toTicketEvent)
	s.respondList(w, r, "History retrieved successfully.", out, wholeList(len(out)))
}

// GET /api/staff/Ticket/{id}/Attachment/{attachmentId} — any attachment, hidden or not.
func (s *server) staffAttachment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.sendAttachment(w, r, core.TicketRef{ID: id})
}

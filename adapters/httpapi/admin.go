package httpapi

import (
	"net/http"

	"github.com/helpdeskd/helpdeskd/core"
)

// Provisioning: idempotent upserts under the panel's IDs, and API keys. The
// routes sit behind requireRole (admins only); core checks the role again.

type putAccountRequest struct {
	Name string `json:"name"`
}

// PUT /api/admin/Account/{id}
func (s *server) putAccount(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req putAccountRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.svc.PutAccount(r.Context(), actorOf(r), core.Account{ID: id, Name: req.Name})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Account saved successfully.", accountDTO{ID: a.ID, Name: a.Name})
}

type putUserRequest struct {
	Email            string    `json:"email"`
	Name             string    `json:"name"`
	Role             core.Role `json:"role"`
	AccountIDs       []int64   `json:"accountIds"`
	DefaultAccountID *int64    `json:"defaultAccountId"`
	Language         string    `json:"language"`
}

// PUT /api/admin/User/{id}
func (s *server) putUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req putUserRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := core.User{ID: id, Email: req.Email, Name: req.Name, Role: req.Role, AccountIDs: req.AccountIDs, Language: req.Language}
	if req.DefaultAccountID != nil {
		in.DefaultAccountID = *req.DefaultAccountID
	}
	u, err := s.svc.PutUser(r.Context(), actorOf(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "User saved successfully.", toUser(u))
}

type putPropertyRequest struct {
	AccountID int64  `json:"accountId"`
	Name      string `json:"name"`
}

// PUT /api/admin/Property/{id}
func (s *server) putProperty(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req putPropertyRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.svc.PutProperty(r.Context(), actorOf(r), core.Property{ID: id, AccountID: req.AccountID, Name: req.Name})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Property saved successfully.", adminProperty{ID: p.ID, AccountID: p.AccountID, Name: p.Name})
}

// POST /api/admin/User/{id}/ApiKey — the key is in this answer and nowhere else, ever.
func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k, key, err := s.svc.CreateAPIKey(r.Context(), actorOf(r), userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusCreated, "API key created; it is shown only this once.",
		apiKeyDTO{ID: k.ID, Key: key, Prefix: k.Prefix, CreatedAt: timestamp(k.CreatedAt)})
}

// DELETE /api/admin/User/{id}/ApiKey/{keyId}
func (s *server) deleteAPIKey(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	keyID, err := pathID(r, "keyId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteAPIKey(r.Context(), actorOf(r), userID, keyID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "API key deleted.", nil)
}

type putDepartmentRequest struct {
	Name string `json:"name"`
}

// PUT /api/admin/Department/{id}
func (s *server) putDepartment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req putDepartmentRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.PutDepartment(r.Context(), actorOf(r), core.Department{ID: id, Name: req.Name})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Department saved successfully.", departmentDTO{ID: d.ID, Name: d.Name})
}

type auditDTO struct {
	ID          int64     `json:"id"`
	At          timestamp `json:"at"`
	ActorUserID *int64    `json:"actorUserId"`
	Action      string    `json:"action"`
	Subject     string    `json:"subject"`
	Detail      string    `json:"detail"`
}

// GET /api/admin/Audit?subject=&action=&limit=
func (s *server) auditLog(w http.ResponseWriter, r *http.Request) {
	var bad core.FieldErrors
	limit := limitParam(&bad, r)
	if err := bad.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	list, err := s.svc.AuditLog(r.Context(), actorOf(r), core.AuditFilter{Subject: q.Get("subject"), Action: q.Get("action"), Limit: limit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := convertAll(list, func(e *core.AuditEntry) auditDTO {
		return auditDTO{ID: e.ID, At: timestamp(e.At), ActorUserID: optional(e.ActorUserID), Action: e.Action, Subject: e.Subject, Detail: e.Detail}
	})
	s.respondList(w, r, "Audit log retrieved successfully.", out, wholeList(len(out)))
}

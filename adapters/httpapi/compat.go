package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/core"
)

// The compatibility API (the multipart API of an earlier ticket system): POST /v1/support/tickets and GET
// /v1/support/tickets/{id} in that system's own shape — a bare JSON object with snake_case
// fields, not the envelope — for clients written against it. The rules of core apply as
// everywhere, except that subjects may be as long as the seed allows; the seed's own
// limits (subject 3–255, message at least 5) are checked first.

// compatPrefix starts every compatibility route; writeError answers those in compat shape.
const compatPrefix = "/v1/"

// Limits of the compatibility API, as its documentation states them.
const (
	compatMinSubject  = 3
	compatMaxSubject  = 255
	compatMinMessage  = 5
	compatMaxFiles    = 10
	compatFileField   = "attachments[]"
	compatTimeLayout  = "2006-01-02T15:04:05.000000Z"
	compatServiceType = "service_type"
)

// compatTime is a time in the seed's format: "2024-11-20T22:00:00.000000Z".
type compatTime time.Time

func (t compatTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(compatTimeLayout) + `"`), nil
}

type compatAttachment struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	MimeType string `json:"mimeType"`
}

type compatMessage struct {
	ID          int64              `json:"id"`
	Content     string             `json:"content"`
	IsCustomer  bool               `json:"is_customer"`
	CreatedAt   compatTime         `json:"created_at"`
	Attachments []compatAttachment `json:"attachments"`
}

type compatTicket struct {
	ID           int64           `json:"id"`
	Status       string          `json:"status"`
	Subject      string          `json:"subject"`
	CreatedAt    compatTime      `json:"created_at"`
	UpdatedAt    compatTime      `json:"updated_at"`
	Department   string          `json:"department"`
	ServiceLabel *string         `json:"service_label"`
	ServiceType  *string         `json:"service_type"`
	ServiceID    *int64          `json:"service_id"`
	Messages     []compatMessage `json:"messages"`
}

// compatStatus names a status the way the seed's system does ("opened").
func compatStatus(s core.Status) string {
	switch s {
	case core.StatusOpen:
		return "opened"
	case core.StatusInProgress:
		return "in_progress"
	case core.StatusResolved:
		return "resolved"
	case core.StatusClosed:
		return "closed"
	}
	return "unknown"
}

func toCompatTicket(d *core.TicketDetail, w *core.TicketWork) compatTicket {
	t := &d.Ticket
	out := compatTicket{ID: t.ID, Status: compatStatus(t.Status), Subject: t.Subject,
		CreatedAt: compatTime(t.CreatedAt), UpdatedAt: compatTime(t.UpdatedAt),
		Department: w.DepartmentName, ServiceType: optional(w.ServiceType), Messages: []compatMessage{}}
	if t.PropertyID != 0 {
		id, name := t.PropertyID, t.PropertyName
		out.ServiceID, out.ServiceLabel = &id, &name
	}
	for _, m := range d.PublicMessages() {
		cm := compatMessage{ID: m.ID, Content: m.Body, IsCustomer: m.Author == core.AuthorCustomer,
			CreatedAt: compatTime(m.CreatedAt), Attachments: []compatAttachment{}}
		for _, a := range m.Attachments {
			cm.Attachments = append(cm.Attachments, compatAttachment{ID: a.ID, Name: a.FileName, Size: a.Size, MimeType: a.ContentType})
		}
		out.Messages = append(out.Messages, cm)
	}
	return out
}

// compatAccount is the accountId query parameter when given, else the caller's home account
// (their default, or their only one).
func compatAccount(r *http.Request) (int64, error) {
	if _, ok := r.URL.Query()["accountId"]; ok {
		return accountIDParam(r)
	}
	u := userOf(r)
	if id := u.HomeAccount(); id != 0 {
		return id, nil
	}
	return 0, invalid("accountId", "is required: the key's user has no default account and not exactly one account")
}

// POST /v1/support/tickets[?accountId=N] — multipart: department_id, subject, message,
// attachments[], service_id, service_type. 200 with the ticket in the seed's shape.
func (s *server) compatCreate(w http.ResponseWriter, r *http.Request) {
	accountID, err := compatAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := kindOfMultipart(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.readFormFiles(r, map[string]int64{"department_id": maxShortFieldBytes, "subject": maxShortFieldBytes,
		"message": s.maxBody, "service_id": maxShortFieldBytes, compatServiceType: maxShortFieldBytes}, compatFileField, compatMaxFiles)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var bad core.FieldErrors
	dept := compatID(&bad, "department_id", f.values["department_id"], true)
	subject := strings.TrimSpace(f.values["subject"])
	if n := utf8.RuneCountInString(subject); n < compatMinSubject || n > compatMaxSubject {
		bad.Add("subject", fmt.Sprintf("must be from %d to %d characters", compatMinSubject, compatMaxSubject))
	}
	if utf8.RuneCountInString(strings.TrimSpace(f.values["message"])) < compatMinMessage {
		bad.Add("message", fmt.Sprintf("must be at least %d characters", compatMinMessage))
	}
	service := compatID(&bad, "service_id", f.values["service_id"], false)
	if err := bad.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := core.NewTicket{AccountID: accountID, Subject: subject, Description: f.values["message"],
		DepartmentID: dept, PropertyID: service, ServiceType: strings.TrimSpace(f.values[compatServiceType]), Files: f.files(),
		MaxSubjectChars: compatMaxSubject}
	actor := actorOf(r)
	t, err := s.svc.CreateTicket(r.Context(), actor, in)
	if err != nil {
		s.writeError(w, r, compatFields(err))
		return
	}
	d, work, err := s.svc.TicketWithWork(r.Context(), actor, core.TicketRef{ID: t.ID, AccountID: t.AccountID})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", compatPrefix+"support/tickets/"+strconv.FormatInt(t.ID, 10))
	s.writeCompat(w, r, http.StatusOK, toCompatTicket(d, work))
}

// compatID reads an ID field of the form: blank (spaces only, as a form may send) is
// absent — "is required" when required — and anything else must be a positive integer (0
// is also accepted as absent where the field is optional).
func compatID(bad *core.FieldErrors, name, v string, required bool) int64 {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			bad.Add(name, "is required")
		}
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		bad.Add(name, "must be an integer")
	case n < 0 || n == 0 && required:
		bad.Add(name, "must be a positive integer")
	}
	return n
}

// compatNames are core's names of fields the compatibility API calls otherwise.
var compatNames = map[string]string{"departmentId": "department_id", "propertyId": "service_id", "description": "message"}

// compatFields renames core's fields in err to the names the compatibility client sent.
func compatFields(err error) error {
	var ce *core.Error
	if !errors.As(err, &ce) || len(ce.Fields) == 0 {
		return err
	}
	out := *ce
	out.Fields = make([]core.FieldError, len(ce.Fields))
	for i, f := range ce.Fields {
		if to, ok := compatNames[f.Field]; ok {
			f.Field = to
		}
		out.Fields[i] = f
	}
	out.Message = strings.Replace(out.Message, ce.Fields[0].String(), out.Fields[0].String(), 1)
	return &out
}

// GET /v1/support/tickets/{id}[?accountId=N] — a ticket the caller may see, with the
// messages a customer sees.
func (s *server) compatGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ref := core.TicketRef{ID: id}
	if _, ok := r.URL.Query()["accountId"]; ok {
		if ref.AccountID, err = accountIDParam(r); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	d, work, err := s.svc.TicketWithWork(r.Context(), actorOf(r), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCompat(w, r, http.StatusOK, toCompatTicket(d, work))
}

// kindOfMultipart accepts only multipart/form-data, as the seed documents.
func kindOfMultipart(r *http.Request) (bodyKind, error) {
	kind, err := kindOf(r, true)
	if err == nil && kind != bodyMultipart {
		err = &core.Error{Code: eUnsupportedMediaType, Message: "Unsupported content type: send multipart/form-data."}
	}
	return kind, err
}

// compatErrorBody is an error in the compatibility API: a message and, per bad field, its
// messages (Laravel's validation shape, which the seed's system answers in).
type compatErrorBody struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

func toCompatError(msg string, fields []string) compatErrorBody {
	out := compatErrorBody{Message: msg}
	for _, f := range fields {
		name, text, ok := strings.Cut(f, ": ")
		if !ok {
			name, text = "body", f
		}
		if out.Errors == nil {
			out.Errors = map[string][]string{}
		}
		out.Errors[name] = append(out.Errors[name], text)
	}
	return out
}

// writeCompat writes v as the whole JSON body.
func (s *server) writeCompat(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		s.log.ErrorContext(r.Context(), "encode response", "request_id", infoOf(r).requestID, "route", routeOf(r), "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"Internal error."}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

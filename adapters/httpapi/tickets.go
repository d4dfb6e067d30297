package httpapi

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdeskd/core"
)

// createTicketRequest is the panel's CreateTicketRequest.
type createTicketRequest struct {
	Subject     string     `json:"subject"`
	Description string     `json:"description"`
	PropertyID  *int64     `json:"propertyId"`
	Topic       core.Topic `json:"topic"`
}

// createTicketFields are the multipart text fields of POST /api/Ticket with their limits.
func (s *server) createTicketFields() map[string]int64 {
	return map[string]int64{"subject": maxShortFieldBytes, "description": s.maxBody,
		"topic": maxShortFieldBytes, "propertyId": maxShortFieldBytes}
}

// POST /api/Ticket?accountId=N
func (s *server) createTicket(w http.ResponseWriter, r *http.Request) {
	accountID, err := accountIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := s.decodeNewTicket(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in.AccountID = accountID
	t, err := s.svc.CreateTicket(r.Context(), actorOf(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/Ticket/%d?accountId=%d", t.ID, t.AccountID))
	s.respond(w, r, http.StatusCreated, "Ticket created successfully.", toTicketSummary(t))
}

func (s *server) decodeNewTicket(r *http.Request) (core.NewTicket, error) {
	kind, err := kindOf(r, true)
	if err != nil {
		return core.NewTicket{}, err
	}
	if kind == bodyJSON {
		var req createTicketRequest
		if err := decodeJSONBody(r, &req); err != nil {
			return core.NewTicket{}, err
		}
		in := core.NewTicket{Subject: req.Subject, Description: req.Description, Topic: req.Topic}
		if req.PropertyID != nil {
			in.PropertyID = *req.PropertyID
		}
		return in, nil
	}
	f, err := s.readForm(r, s.createTicketFields())
	if err != nil {
		return core.NewTicket{}, err
	}
	in := core.NewTicket{Subject: f.values["subject"], Description: f.values["description"], Files: f.files()}
	var bad core.FieldErrors
	if v := optInt(&bad, "topic", f.values["topic"], 32); v != nil {
		in.Topic = core.Topic(*v)
	}
	if v := optInt(&bad, "propertyId", f.values["propertyId"], 64); v != nil {
		in.PropertyID = *v
	}
	return in, bad.Err()
}

// GET /api/Ticket?accountId=N&status=&topic=&propertyId=&archived=&pageNumber=&pageSize=
func (s *server) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var bad core.FieldErrors
	f := core.TicketFilter{AccountID: accountIDInto(&bad, r)}
	if v := optInt(&bad, "status", q.Get("status"), 32); v != nil {
		st := core.Status(*v)
		f.Status = &st
	}
	if v := optInt(&bad, "topic", q.Get("topic"), 32); v != nil {
		tp := core.Topic(*v)
		f.Topic = &tp
	}
	f.PropertyID = optInt(&bad, "propertyId", q.Get("propertyId"), 64)
	if v := optBool(&bad, "archived", q.Get("archived")); v != nil {
		f.Archived = *v
	}
	f.Page = pageQuery(&bad, q)
	if err := bad.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, total, err := s.svc.ListTickets(r.Context(), actorOf(r), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]ticketItem, 0, len(list))
	for i := range list {
		items = append(items, toTicketItem(&list[i]))
	}
	s.respondList(w, r, "Tickets retrieved successfully.", items, pageOf(f.Page, total))
}

// ticketRef reads the {id} route parameter and the accountId query parameter together.
func ticketRef(r *http.Request) (core.TicketRef, error) {
	var bad core.FieldErrors
	ref := core.TicketRef{AccountID: accountIDInto(&bad, r)}
	id, err := pathID(r, "id")
	if err != nil {
		bad = append(bad, core.ErrorFields(err)...)
	}
	ref.ID = id
	return ref, bad.Err()
}

// GET /api/Ticket/{id}?accountId=N
func (s *server) getTicket(w http.ResponseWriter, r *http.Request) {
	ref, err := ticketRef(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.GetTicket(r.Context(), actorOf(r), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Ticket retrieved successfully.", toTicketDetail(d))
}

type replyRequest struct {
	Message string `json:"message"`
}

// POST /api/Ticket/{id}/Reply?accountId=N
func (s *server) reply(w http.ResponseWriter, r *http.Request) {
	ref, err := ticketRef(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := s.decodeReply(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, _, err := s.svc.Reply(r.Context(), actorOf(r), ref, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusCreated, "Reply added successfully.", toMessage(m))
}

func (s *server) decodeReply(r *http.Request) (core.NewReply, error) {
	kind, err := kindOf(r, true)
	if err != nil {
		return core.NewReply{}, err
	}
	if kind == bodyJSON {
		var req replyRequest
		if err := decodeJSONBody(r, &req); err != nil {
			return core.NewReply{}, err
		}
		return core.NewReply{Body: req.Message}, nil
	}
	f, err := s.readForm(r, map[string]int64{"message": s.maxBody})
	if err != nil {
		return core.NewReply{}, err
	}
	return core.NewReply{Body: f.values["message"], Files: f.files()}, nil
}

// POST /api/Ticket/{id}/Close?accountId=N
func (s *server) closeTicket(w http.ResponseWriter, r *http.Request) {
	ref, err := ticketRef(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.svc.Close(r.Context(), actorOf(r), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Ticket closed successfully.", toTicketSummary(t))
}

// GET /api/Ticket/{id}/Attachment/{attachmentId}?accountId=N — the bytes, not the envelope.
func (s *server) attachment(w http.ResponseWriter, r *http.Request) {
	ref, err := ticketRef(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.sendAttachment(w, r, ref)
}

// sendAttachment answers with the bytes of attachment {attachmentId} of the ticket ref.
func (s *server) sendAttachment(w http.ResponseWriter, r *http.Request, ref core.TicketRef) {
	attID, err := pathID(r, "attachmentId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, rc, err := s.svc.OpenAttachment(r.Context(), actorOf(r), ref, attID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", downloadType(a.ContentType))
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	h.Set("Content-Disposition", contentDisposition(a.FileName))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		s.log.WarnContext(r.Context(), "send attachment", "request_id", infoOf(r).requestID,
			"ticket", ref.ID, "attachment", attID, "err", err)
	}
}

// downloadType is the stored content type when it parses, else application/octet-stream.
func downloadType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "application/octet-stream"
	}
	if out := mime.FormatMediaType(mt, params); out != "" {
		return out
	}
	return "application/octet-stream"
}

// contentDisposition is "attachment" with an ASCII file name for old clients and, when the
// name is not plain ASCII, its exact UTF-8 form in RFC 5987 filename*.
func contentDisposition(name string) string {
	name = core.SafeFileName(name)
	fallback := asciiFileName(name)
	out := mime.FormatMediaType("attachment", map[string]string{"filename": fallback})
	if out == "" {
		out = `attachment; filename="file"`
	}
	if fallback != name {
		out += "; filename*=UTF-8''" + rfc5987(name)
	}
	return out
}

// asciiFileName replaces everything but printable ASCII (and quotes, backslashes, percent
// signs, which some clients misread) with '_'.
func asciiFileName(name string) string {
	b := make([]byte, 0, len(name))
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			b = append(b, '_')
			continue
		}
		b = append(b, byte(r))
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "file"
}

// rfc5987 percent-encodes everything outside RFC 5987's attr-char.
func rfc5987(s string) string {
	const attrChar = "!#$&+-.^_`|~"
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte(attrChar, c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// GET /api/Property?accountId=N
func (s *server) properties(w http.ResponseWriter, r *http.Request) {
	accountID, err := accountIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ps, err := s.svc.Properties(r.Context(), actorOf(r), accountID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]propertyDTO, 0, len(ps))
	for _, p := range ps {
		out = append(out, propertyDTO{ID: p.ID, Name: p.Name})
	}
	s.respondList(w, r, "Properties retrieved successfully.", out, wholeList(len(out)))
}

// GET /api/Ticket/Topics
func (s *server) topics(w http.ResponseWriter, r *http.Request) {
	out := make([]enumMember, 0, len(core.Topics))
	for _, t := range core.Topics {
		out = append(out, enumMember{Value: int(t), Name: t.String(), Label: t.Label()})
	}
	s.respondList(w, r, "Topics retrieved successfully.", out, wholeList(len(out)))
}

// GET /api/Ticket/Statuses
func (s *server) statuses(w http.ResponseWriter, r *http.Request) {
	out := make([]enumMember, 0, len(core.Statuses))
	for _, st := range core.Statuses {
		out = append(out, enumMember{Value: int(st), Name: st.String(), Label: st.Label()})
	}
	s.respondList(w, r, "Statuses retrieved successfully.", out, wholeList(len(out)))
}

// POST /api/Telegram/Link?accountId=N
func (s *server) linkTelegram(w http.ResponseWriter, r *http.Request) {
	accountID, err := accountIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// core's account check (a member, or staff for an existing account) is what Properties
	// runs first; the list itself is not needed.
	if _, err := s.svc.Properties(r.Context(), actorOf(r), accountID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.opts.LinkTelegram == nil {
		s.writeError(w, r, core.Errorf(core.EUNAVAILABLE, "Telegram is not enabled."))
		return
	}
	code, expires, err := s.opts.LinkTelegram(r.Context(), userOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := telegramLinkDTO{Code: code, ExpiresAt: timestamp(expires)}
	if bot := strings.TrimPrefix(strings.TrimSpace(s.opts.TelegramBot), "@"); bot != "" {
		link := "https://t.me/" + url.PathEscape(bot) + "?start=" + url.QueryEscape(code)
		out.Link = &link
	}
	s.respond(w, r, http.StatusOK, "Telegram link code created.", out)
}

func (s *server) archiveTicket(archived bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref, err := ticketRef(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		t, err := s.svc.Archive(r.Context(), actorOf(r), ref, archived)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		msg := "Ticket archived successfully."
		if !archived {
			msg = "Ticket taken out of the archive."
		}
		s.respond(w, r, http.StatusOK, msg, toTicketSummary(t))
	}
}

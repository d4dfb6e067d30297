package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdeskd/core"
)

// Error codes of this package's own, for transport outcomes core has no word for. They
// travel in a *core.Error like the domain codes, so that statusFor stays the one table.
const (
	eUnsupportedMediaType = "unsupported_media_type" // 415
	eMethodNotAllowed     = "method_not_allowed"     // 405
	eUnprocessable        = "unprocessable"          // 422: an Idempotency-Key reused for another request
)

// internalMessage is all a caller ever learns of an internal error.
const internalMessage = "Internal error."

// retryAfterSeconds is sent with 429 when the error does not say how long to wait.
const retryAfterSeconds = 60

// envelope is the body of every response (docs/contract.md §4).
type envelope struct {
	Succeeded    bool     `json:"succeeded"`
	Message      string   `json:"message"`
	Data         any      `json:"data"`
	Errors       []string `json:"errors,omitempty"`
	PageNumber   int      `json:"pageNumber"`
	PageSize     int      `json:"pageSize"`
	TotalPages   int      `json:"totalPages"`
	TotalRecords int      `json:"totalRecords"`
	// TotalRecordsCapped is sent, true, only by a search that stopped counting: totalRecords
	// tickets match and more may, so clients that ignore it still page consistently.
	TotalRecordsCapped bool `json:"totalRecordsCapped,omitempty"`
}

// paging fills an envelope's paging fields.
type paging struct {
	number, size, totalPages, totalRecords int
	capped                                 bool
}

// pageOf describes page p of a list of total records.
func pageOf(p core.Page, total int) paging {
	return paging{number: p.Number, size: p.Size, totalPages: p.TotalPages(total), totalRecords: total}
}

// wholeList describes an unpaged list of n items as its only page.
func wholeList(n int) paging {
	if n == 0 {
		return paging{number: 1}
	}
	return paging{number: 1, size: n, totalPages: 1, totalRecords: n}
}

// statusFor maps an error code to its HTTP status: the one table of the package.
func statusFor(code string) int {
	switch code {
	case core.EINVALID:
		return http.StatusBadRequest
	case core.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case core.EFORBIDDEN:
		return http.StatusForbidden
	case core.ENOTFOUND:
		return http.StatusNotFound
	case eMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case core.ECONFLICT:
		return http.StatusConflict
	case eUnprocessable:
		return http.StatusUnprocessableEntity
	case core.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case eUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case core.ERATELIMIT:
		return http.StatusTooManyRequests
	case core.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// respond writes a success envelope with data.
func (s *server) respond(w http.ResponseWriter, r *http.Request, status int, message string, data any) {
	s.writeEnvelope(w, r, status, envelope{Succeeded: true, Message: message, Data: data})
}

// respondList writes a success envelope with a list and its paging fields.
func (s *server) respondList(w http.ResponseWriter, r *http.Request, message string, data any, p paging) {
	s.writeEnvelope(w, r, http.StatusOK, envelope{Succeeded: true, Message: message, Data: data,
		PageNumber: p.number, PageSize: p.size, TotalPages: p.totalPages, TotalRecords: p.totalRecords,
		TotalRecordsCapped: p.capped})
}

// writeError answers err in the error envelope with the status its code maps to. Internal
// errors are logged with the request ID and route and shown only as "Internal error.".
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = core.Errorf(core.ETOOLARGE, "Request body is too large: the limit is %s.", humanBytes(tooBig.Limit))
	}
	code := core.ErrorCode(err)
	msg := core.ErrorMessage(err)
	if code == core.EINTERNAL && errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away mid-request: nobody to answer, nothing to alarm anyone about.
		s.log.InfoContext(r.Context(), "request canceled by the client",
			"request_id", infoOf(r).requestID, "route", routeOf(r))
	} else if code == core.EINTERNAL {
		info := infoOf(r)
		s.log.ErrorContext(r.Context(), "internal error",
			"request_id", info.requestID, "method", r.Method, "route", routeOf(r), "path", r.URL.Path, "err", err)
		msg = internalMessage
	}
	if code == core.ERATELIMIT {
		wait := retryAfterSeconds
		var ra interface{ RetryAfterSeconds() int }
		if errors.As(err, &ra) && ra.RetryAfterSeconds() > 0 {
			wait = ra.RetryAfterSeconds()
		}
		w.Header().Set("Retry-After", strconv.Itoa(wait))
	}
	s.fail(w, r, code, msg, fieldLines(core.ErrorFields(err)))
}

// fieldLines are the envelope's "errors": one "field: message" line per bad field.
func fieldLines(fields []core.FieldError) []string {
	if len(fields) == 0 {
		return nil
	}
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.String()
	}
	return out
}

// fail writes the error envelope for code; it is also the recovery middleware's way out.
// Every failed request passes here, so here its staged uploads are discarded.
func (s *server) fail(w http.ResponseWriter, r *http.Request, code, msg string, fields []string) {
	s.discardStaged(r)
	if msg == "" {
		msg = internalMessage
	}
	if code == core.EINTERNAL {
		fields = nil
	}
	if code == core.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="helpdeskd"`)
	}
	if strings.HasPrefix(r.URL.Path, compatPrefix) {
		// The compatibility API answers errors in its own shape, with the same status codes.
		s.writeCompat(w, r, statusFor(code), toCompatError(msg, fields))
		return
	}
	s.writeEnvelope(w, r, statusFor(code), envelope{Succeeded: false, Message: msg, Errors: fields})
}

// writeEnvelope encodes env before writing anything, so that an encoding failure can still
// become a clean 500.
func (s *server) writeEnvelope(w http.ResponseWriter, r *http.Request, status int, env envelope) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(env); err != nil {
		s.log.ErrorContext(r.Context(), "encode response", "request_id", infoOf(r).requestID, "route", routeOf(r), "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"succeeded":false,"message":"Internal error.","data":null,"pageNumber":0,"pageSize":0,"totalPages":0,"totalRecords":0}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// humanBytes writes a size the way people read it: "12 MB", "1 KB", "900 bytes".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

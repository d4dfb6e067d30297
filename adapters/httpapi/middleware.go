package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/helpdeskd/helpdeskd/core"
)

// requestIDHeader carries the request ID: taken from the client when it is a short, plain
// token, else made up; always sent back.
const (
	requestIDHeader   = "X-Request-Id"
	maxRequestIDChars = 64
	maxLoggedPathLen  = 256
)

type ctxKey int

const (
	infoKey ctxKey = iota
	userKey
	keyIDKey // the authenticated key's identity, for the per-key rate limit
)

// reqInfo is what the middlewares learn about a request, for the access log and errors.
type reqInfo struct {
	requestID string
	userID    int64
	unmatched bool // no route matched (404/405 from the router itself)
	// staged are the files this request put in the blob store, discarded if it fails.
	staged []core.FileRef
}

func infoOf(r *http.Request) *reqInfo { return infoFrom(r.Context()) }

func infoFrom(ctx context.Context) *reqInfo {
	if info, ok := ctx.Value(infoKey).(*reqInfo); ok {
		return info
	}
	return &reqInfo{}
}

// discardTimeout bounds the clean-up of a failed request's uploads.
const discardTimeout = 5 * time.Second

// discardStaged gives up the files the request staged, before its error is answered, so
// that a refused upload leaves nothing behind. The store keeps bytes that anything else
// references (the same file attached elsewhere, a kept raw mail, another upload in flight).
func (s *server) discardStaged(r *http.Request) {
	info := infoOf(r)
	if len(info.staged) == 0 {
		return
	}
	staged := info.staged
	info.staged = nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), discardTimeout)
	defer cancel()
	if err := s.svc.DiscardStaged(ctx, staged); err != nil {
		s.log.WarnContext(ctx, "discard the uploads of a failed request",
			"request_id", info.requestID, "route", routeOf(r), "files", len(staged), "err", err)
	}
}

func userOf(r *http.Request) *core.User {
	u, _ := r.Context().Value(userKey).(*core.User)
	return u
}

func keyIDOf(r *http.Request) string {
	id, _ := r.Context().Value(keyIDKey).(string)
	return id
}

// routeOf is the chi route pattern of the request so far ("/api/Ticket/{id}").
func routeOf(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		return rctx.RoutePattern()
	}
	return ""
}

func requestID(r *http.Request) string {
	if id := r.Header.Get(requestIDHeader); id != "" && len(id) <= maxRequestIDChars && plainToken(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func plainToken(s string) bool {
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:/", c)
		if !ok {
			return false
		}
	}
	return true
}

// observe gives the request its ID, then writes the access log line (never bodies, keys or
// query strings) and the latency metric by route pattern.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{requestID: requestID(r)}
		w.Header().Set(requestIDHeader, info.requestID)
		r = r.WithContext(context.WithValue(r.Context(), infoKey, info))
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)

		next.ServeHTTP(ww, r)

		d := time.Since(start)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		route := routeOf(r)
		if info.unmatched || route == "" {
			route = UnmatchedRoute
		}
		if s.opts.Metrics != nil {
			s.opts.Metrics.ObserveHTTP(route, r.Method, status, d)
		}
		level := slog.LevelInfo
		switch route {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		path := r.URL.Path
		if len(path) > maxLoggedPathLen {
			path = path[:maxLoggedPathLen] + "…"
		}
		s.log.LogAttrs(r.Context(), level, "http request",
			slog.String("request_id", info.requestID),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", path),
			slog.Int("status", status),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("duration", d),
			slog.Int64("user", info.userID),
		)
	})
}

// recoverPanics turns a panic into a logged stack and, if nothing was written yet, the 500
// envelope. http.ErrAbortHandler is passed on: it asks net/http to drop the connection.
func recoverPanics(s *server) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				s.discardStaged(r)
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request",
					"request_id", infoOf(r).requestID, "method", r.Method, "route", routeOf(r),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if ww.Status() == 0 {
					s.fail(ww, r, core.EINTERNAL, internalMessage, nil)
				}
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// authenticate resolves the API key (X-API-Key, or Authorization: Bearer) to its user;
// 401 without one. Every /api answer is marked not to be cached. An address that has
// failed too often is answered 429 before its key is looked up: each failure costs a
// database read, and guessing keys is what the limit is there to slow down.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var addr string
		if s.authFails != nil {
			addr = clientAddr(r)
			if ok, wait := s.authFails.check(addr); !ok {
				s.writeError(w, r, tooManyRequests(wait, "Too many failed authentications from this address: retry after %d s."))
				return
			}
		}
		u, keyID, err := s.svc.AuthenticateKey(r.Context(), apiKey(r))
		if err != nil {
			if s.authFails != nil && core.ErrorCode(err) == core.EUNAUTHORIZED {
				s.authFails.take(addr)
			}
			s.writeError(w, r, err)
			return
		}
		infoOf(r).userID = u.ID
		ctx := context.WithValue(context.WithValue(r.Context(), userKey, u), keyIDKey, keyID)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func apiKey(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// requireRole lets only users whose role passes ok through, before anything is decoded.
func requireRole(s *server, msg string, ok func(core.Role) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u := userOf(r); u == nil || !ok(u.Role) {
				s.writeError(w, r, core.Errorf(core.EFORBIDDEN, "%s", msg))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody refuses a declared body over the limit at once and caps what can be read of an
// undeclared one; reading past the cap fails with *http.MaxBytesError (413).
func (s *server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.maxBody {
			s.writeError(w, r, &http.MaxBytesError{Limit: s.maxBody})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		next.ServeHTTP(w, r)
	})
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	infoOf(r).unmatched = true
	s.writeError(w, r, core.Errorf(core.ENOTFOUND, "No such endpoint: %s %s.", r.Method, echo(r.URL.Path)))
}

// methodNotAllowed answers 405 with the Allow header, found by asking the router which
// methods the path has.
func (s *server) methodNotAllowed(router chi.Router) http.HandlerFunc {
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) {
		infoOf(r).unmatched = true
		var allowed []string
		for _, m := range methods {
			if router.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		s.writeError(w, r, core.Errorf(eMethodNotAllowed, "Method %s is not allowed here.", echo(r.Method)))
	}
}

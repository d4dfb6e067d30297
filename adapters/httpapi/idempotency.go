package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) on every POST and PUT: the
// first request with a key reserves it, runs, and has its answer stored; a repeat with the
// same key by the same owner gets that answer again instead of doing the write twice.
// docs/api.md describes each answer, docs/decisions.md why it works this way.

// IdempotencyStore keeps the rows of the keys (adapters/sqlite, adapters/postgres). The
// store's Write must also mark the reservation that its context carries
// (core.WithIdempotency) committed in the write's own transaction.
type IdempotencyStore interface {
	// ReserveIdempotencyKey makes rec (state running) the row of its owner and key unless a
	// row is there that has not expired at now; a running row whose lock expired before now
	// and whose fingerprint is rec's is taken over. It returns the row as it stands and
	// whether rec holds it.
	ReserveIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord, now time.Time) (core.IdempotencyRecord, bool, error)
	// IdempotencyKey returns the row of owner's key, or ENOTFOUND.
	IdempotencyKey(ctx context.Context, owner int64, key string) (core.IdempotencyRecord, error)
	// FinishIdempotencyKey stores rec's answer in the row rec's token holds (state done);
	// ECONFLICT if the token no longer holds it.
	FinishIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord) error
	// ReleaseIdempotencyKey deletes the row token holds unless a write under it committed.
	ReleaseIdempotencyKey(ctx context.Context, owner int64, key, token string) error
}

const (
	idempotencyHeader = "Idempotency-Key"
	replayedHeader    = "Idempotent-Replayed"
	// maxIdempotencyKeyChars bounds a key: the draft sets no limit; a UUID is 36.
	maxIdempotencyKeyChars = 255
	// idempotencyLock is how long a reservation is its holder's before a repeat may take it
	// over as the work of a process that died. The body is read before the key is reserved,
	// so the lock covers only the handler's own work (milliseconds to a few seconds); a
	// minute is far past that, and short enough for a client's retry after a crash.
	idempotencyLock = 60 * time.Second
	// idempotencyTTL is how long an answer is kept for repeats.
	idempotencyTTL = 24 * time.Hour
	// idempotencyWait is how long a repeat waits for the first request to finish before it
	// answers 409; idempotencyPoll how often it looks meanwhile.
	idempotencyWait = 10 * time.Second
	idempotencyPoll = 25 * time.Millisecond
	// spoolMemoryBytes is how much of a body is held in memory; the rest goes to a file.
	spoolMemoryBytes = 1 << 20
)

// idempotent applies Idempotency-Key to the POST and PUT requests behind it. A request
// without the header is passed on untouched; so is every request when the feature is off.
func (s *server) idempotent(next http.Handler) http.Handler {
	store := s.opts.Idempotency
	if store == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values, present := r.Header[idempotencyHeader]
		if !present || (r.Method != http.MethodPost && r.Method != http.MethodPut) || userOf(r) == nil {
			next.ServeHTTP(w, r)
			return
		}
		key, err := idempotencyKeyOf(values)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		body, bodyHash, err := spoolBody(r.Body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer body.Close()
		r.Body = body
		s.serveIdempotent(w, r, next, store, core.IdempotencyRecord{
			Owner: userOf(r).ID, Key: key, Fingerprint: fingerprint(r, bodyHash),
		})
	})
}

// idempotencyKeyOf reads the header's one value: a string of 1 to 255 characters, sent as
// a structured-field string ("…", as the draft writes it) or bare.
func idempotencyKeyOf(values []string) (string, error) {
	if len(values) != 1 {
		return "", core.Invalid(idempotencyHeader, "must be sent once")
	}
	key := strings.TrimSpace(values[0])
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = strings.ReplaceAll(strings.ReplaceAll(key[1:len(key)-1], `\"`, `"`), `\\`, `\`)
	}
	if key == "" || len([]rune(key)) > maxIdempotencyKeyChars {
		return "", core.Invalid(idempotencyHeader, "must be 1–"+strconv.Itoa(maxIdempotencyKeyChars)+" characters")
	}
	return key, nil
}

// fingerprint identifies a request: its method, path with query, and the body's SHA-256.
func fingerprint(r *http.Request, bodyHash []byte) string {
	h := sha256.New()
	io.WriteString(h, r.Method+"\n"+r.URL.RequestURI()+"\n")
	h.Write(bodyHash)
	return hex.EncodeToString(h.Sum(nil))
}

// serveIdempotent reserves rec's key and runs the request, or answers as the key's row
// says: the stored answer, 422 for another request, 409 while it runs too long or when its
// answer was lost. A row that goes away (its attempt failed) or whose holder died is
// reserved again.
func (s *server) serveIdempotent(w http.ResponseWriter, r *http.Request, next http.Handler, store IdempotencyStore, rec core.IdempotencyRecord) {
	ctx := r.Context()
	deadline := time.Now().Add(idempotencyWait)
	for {
		now := s.now()
		rec.Token = newToken()
		rec.LockedUntil, rec.ExpiresAt = now.Add(idempotencyLock), now.Add(idempotencyTTL)
		got, held, err := store.ReserveIdempotencyKey(ctx, rec, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if held {
			s.runIdempotent(w, r, next, store, rec)
			return
		}
		// Wait while the holder works; then answer from the row.
		for got.Fingerprint == rec.Fingerprint && got.State != core.IdempotencyDone && got.LockedUntil.After(s.now()) {
			if !time.Now().Before(deadline) {
				s.writeError(w, r, core.Errorf(core.ECONFLICT, "A request with this Idempotency-Key is still being processed: retry later."))
				return
			}
			select {
			case <-ctx.Done():
				s.writeError(w, r, ctx.Err())
				return
			case <-time.After(idempotencyPoll):
			}
			got, err = store.IdempotencyKey(ctx, rec.Owner, rec.Key)
			if core.ErrorCode(err) == core.ENOTFOUND {
				break // released: reserve again
			} else if err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		switch {
		case core.ErrorCode(err) == core.ENOTFOUND:
			continue
		case got.Fingerprint != rec.Fingerprint:
			s.writeError(w, r, core.Errorf(eUnprocessable, "This Idempotency-Key was used for a different request (method, path or body)."))
			return
		case got.State == core.IdempotencyDone:
			replay(w, got)
			return
		case got.State == core.IdempotencyCommitted:
			s.writeError(w, r, core.Errorf(core.ECONFLICT, "The first request with this Idempotency-Key was applied, but its answer was lost: "+
				"do not send it again; read the current state instead."))
			return
		}
		// Running, and its holder's lock expired while we waited: take it over.
	}
}

// secretAnswers are the routes whose success answers hold a secret shown once: a new API
// key, a Telegram link code, a webhook's signing secret. The database keeps those only as
// hashes (docs/security.md), so their answers are never stored: a repeat is told, with a
// 409, that the first request was applied.
var secretAnswers = map[string]bool{
	"/api/admin/User/{id}/ApiKey": true,
	"/api/Telegram/Link":          true,
	"/api/admin/Webhook":          true,
}

// runIdempotent runs the request under the reservation rec holds, its answer captured, then
// stores the answer (or, for what a retry may mend, releases the key) and sends it.
func (s *server) runIdempotent(w http.ResponseWriter, r *http.Request, next http.Handler, store IdempotencyStore, rec core.IdempotencyRecord) {
	// The key's bookkeeping outlives a client that hangs up: its write may have committed.
	bg := context.WithoutCancel(r.Context())
	c := &capture{header: w.Header().Clone()}
	finished := false
	defer func() {
		if !finished {
			// A panic: nothing is answered from here (recoverPanics answers 500), and a retry
			// must run again unless the write committed.
			s.releaseKey(bg, r, store, rec)
		}
	}()
	next.ServeHTTP(c, r.WithContext(core.WithIdempotency(r.Context(), rec.Owner, rec.Key, rec.Token)))
	finished = true
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.status >= 500 || c.status == http.StatusTooManyRequests {
		// Not the request's outcome but the desk's state at that moment: a retry runs again.
		s.releaseKey(bg, r, store, rec)
	} else {
		kept := c
		if c.status < 300 && secretAnswers[routeOf(r)] {
			kept = &capture{header: http.Header{}}
			s.writeEnvelope(kept, r, http.StatusConflict, envelope{Message: "The first request with this Idempotency-Key was applied; " +
				"its answer held a secret shown only once, which is not kept."})
		}
		rec.Status, rec.ContentType, rec.Location, rec.Body = kept.status, kept.header.Get("Content-Type"), kept.header.Get("Location"), kept.body.Bytes()
		rec.ExpiresAt = s.now().Add(idempotencyTTL)
		if err := store.FinishIdempotencyKey(bg, rec); err != nil {
			// The caller still gets its answer; a repeat finds the write committed and the
			// answer lost (409), or, if nothing was written, runs again once the lock expires.
			s.log.WarnContext(r.Context(), "store idempotent answer", "request_id", infoOf(r).requestID, "route", routeOf(r), "err", err)
		}
	}
	h := w.Header()
	maps.Copy(h, c.header)
	w.WriteHeader(c.status)
	_, _ = w.Write(c.body.Bytes())
}

func (s *server) releaseKey(ctx context.Context, r *http.Request, store IdempotencyStore, rec core.IdempotencyRecord) {
	if err := store.ReleaseIdempotencyKey(ctx, rec.Owner, rec.Key, rec.Token); err != nil {
		s.log.WarnContext(ctx, "release idempotency key", "request_id", infoOf(r).requestID, "route", routeOf(r), "err", err)
	}
}

// replay sends a stored answer as it was first sent.
func replay(w http.ResponseWriter, rec core.IdempotencyRecord) {
	h := w.Header()
	if rec.ContentType != "" {
		h.Set("Content-Type", rec.ContentType)
	}
	if rec.Location != "" {
		h.Set("Location", rec.Location)
	}
	h.Set("Content-Length", strconv.Itoa(len(rec.Body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(replayedHeader, "true")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

func (s *server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// newToken names one attempt at a key.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// capture is the handler's answer, held until it is stored.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(p)
}

// spoolBody reads the whole body, hashing it on the way, into memory up to
// spoolMemoryBytes and into an unlinked temporary file past that (a multipart body with
// attachments may be many megabytes), and returns it to be read again from the start.
func spoolBody(body io.ReadCloser) (io.ReadCloser, []byte, error) {
	defer body.Close()
	h := sha256.New()
	var mem bytes.Buffer
	n, err := io.Copy(&mem, io.TeeReader(io.LimitReader(body, spoolMemoryBytes+1), h))
	if err != nil {
		return nil, nil, err
	}
	if n <= spoolMemoryBytes {
		return io.NopCloser(bytes.NewReader(mem.Bytes())), h.Sum(nil), nil
	}
	f, err := os.CreateTemp("", "helpdeskd-body-*")
	if err != nil {
		return nil, nil, err
	}
	// Unlinked at once: the file lives while it is open, and a crash leaves nothing behind.
	_ = os.Remove(f.Name())
	if _, err := f.Write(mem.Bytes()); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := io.Copy(f, io.TeeReader(body, h)); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, h.Sum(nil), nil
}

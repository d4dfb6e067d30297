package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"github.com/helpdeskd/helpdeskd/core"
)

// idemStore is the test store's Idempotency-Key rows, bound once the store is open (newEnv
// opens it after the options are made), with faults a test may switch on.
type idemStore struct {
	httpapi.IdempotencyStore
	// lostAnswers makes storing an answer fail (the process died after its write).
	lostAnswers atomic.Bool
	// noRelease makes releasing a key do nothing (the process died before its write).
	noRelease atomic.Bool
}

func (s *idemStore) FinishIdempotencyKey(ctx context.Context, rec core.IdempotencyRecord) error {
	if s.lostAnswers.Load() {
		return errors.New("the process died before storing the answer")
	}
	return s.IdempotencyStore.FinishIdempotencyKey(ctx, rec)
}

func (s *idemStore) ReleaseIdempotencyKey(ctx context.Context, owner int64, key, token string) error {
	if s.noRelease.Load() {
		return nil
	}
	return s.IdempotencyStore.ReleaseIdempotencyKey(ctx, owner, key, token)
}

// testClock is the API's clock, moved by the tests of lock expiry.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type idemEnv struct {
	*testEnv
	store *idemStore
	clock *testClock
}

// newIdemEnv is newEnv with Idempotency-Key on.
func newIdemEnv(t *testing.T, opts ...envOption) *idemEnv {
	t.Helper()
	st, clock := &idemStore{}, &testClock{}
	opts = append(opts, func(_ *core.Options, h *httpapi.Options) {
		h.Idempotency = st
		h.Now = clock.now
	})
	e := newEnv(t, opts...)
	st.IdempotencyStore = e.db.(httpapi.IdempotencyStore)
	return &idemEnv{testEnv: e, store: st, clock: clock}
}

// answer is one raw answer, safe to gather from several goroutines.
type answer struct {
	status   int
	body     string
	replayed string
	err      error
}

// send makes one request with an Idempotency-Key (nil: none) and reads the whole answer.
func (e *idemEnv) send(method, path, apiKey string, idemKey *string, contentType string, body []byte) answer {
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("X-API-Key", apiKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if idemKey != nil {
		req.Header["Idempotency-Key"] = []string{*idemKey}
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: string(raw), replayed: res.Header.Get("Idempotent-Replayed"), err: err}
}

func (e *idemEnv) tickets(t *testing.T) int {
	t.Helper()
	return teststore.Count(t, e.db, `SELECT count(*) FROM tickets`)
}

func key(s string) *string { return &s }

var createPath = fmt.Sprintf("/api/Ticket?accountId=%d", acctA)

const createBody = `{"subject":"Site down","description":"It shows a 502."}`

// TestIdempotency_ConcurrentCreatesMakeOneTicket is the acceptance test: 32 creates at once
// with one key and one body make one ticket and get 32 identical answers.
func TestIdempotency_ConcurrentCreatesMakeOneTicket(t *testing.T) {
	e := newIdemEnv(t)
	const n = 32
	answers := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = e.send("POST", createPath, e.alice, key("create-once"), "application/json", []byte(createBody))
		})
	}
	close(start)
	wg.Wait()
	replays := 0
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("request %d: %v", i, a.err)
		}
		if a.status != http.StatusCreated || a.body != answers[0].body {
			t.Errorf("answer %d: %d %s, want 201 %s", i, a.status, a.body, answers[0].body)
		}
		if a.replayed == "true" {
			replays++
		}
	}
	if replays != n-1 {
		t.Errorf("%d answers replayed, want %d", replays, n-1)
	}
	if got := e.tickets(t); got != 1 {
		t.Fatalf("%d tickets, want 1", got)
	}
}

func TestIdempotency_Answers(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *idemEnv)
	}{
		{"RepeatIsReplayed", func(t *testing.T, e *idemEnv) {
			first := e.send("POST", createPath, e.alice, key("k1"), "application/json", []byte(createBody))
			again := e.send("POST", createPath, e.alice, key("k1"), "application/json", []byte(createBody))
			if first.status != 201 || first.replayed != "" {
				t.Fatalf("first: %d replayed %q %s", first.status, first.replayed, first.body)
			}
			if again.status != 201 || again.replayed != "true" || again.body != first.body {
				t.Fatalf("repeat: %d replayed %q %s, want the first answer %s", again.status, again.replayed, again.body, first.body)
			}
			if n := e.tickets(t); n != 1 {
				t.Fatalf("%d tickets, want 1", n)
			}
		}},
		{"QuotedKeyIsTheSameKey", func(t *testing.T, e *idemEnv) {
			e.send("POST", createPath, e.alice, key("k1"), "application/json", []byte(createBody))
			again := e.send("POST", createPath, e.alice, key(`"k1"`), "application/json", []byte(createBody))
			if again.replayed != "true" || e.tickets(t) != 1 {
				t.Fatalf("a structured-field string is not the bare key: %d %s", again.status, again.body)
			}
		}},
		{"DifferentBodyIs422", func(t *testing.T, e *idemEnv) {
			e.send("POST", createPath, e.alice, key("k1"), "application/json", []byte(createBody))
			other := e.send("POST", createPath, e.alice, key("k1"), "application/json", []byte(`{"subject":"Other","description":"x"}`))
			if other.status != http.StatusUnprocessableEntity || !strings.Contains(other.body, "different request") {
				t.Fatalf("different body: %d %s", other.status, other.body)
			}
			path := e.send("POST", fmt.Sprintf("/api/Ticket?accountId=%d&x=1", acctA), e.alice, key("k1"), "application/json", []byte(createBody))
			if path.status != http.StatusUnprocessableEntity {
				t.Fatalf("different query: %d %s", path.status, path.body)
			}
		}},
		{"OwnersAreIndependent", func(t *testing.T, e *idemEnv) {
			a := e.send("POST", createPath, e.alice, key("shared"), "application/json", []byte(createBody))
			s := e.send("POST", createPath, e.staff, key("shared"), "application/json", []byte(createBody))
			if a.status != 201 || s.status != 201 || s.replayed != "" || a.body == s.body {
				t.Fatalf("alice %d %s; staff %d replayed %q %s", a.status, a.body, s.status, s.replayed, s.body)
			}
			if n := e.tickets(t); n != 2 {
				t.Fatalf("%d tickets, want 2", n)
			}
		}},
		{"AbsentHeaderChangesNothing", func(t *testing.T, e *idemEnv) {
			a := e.send("POST", createPath, e.alice, nil, "application/json", []byte(createBody))
			b := e.send("POST", createPath, e.alice, nil, "application/json", []byte(createBody))
			if a.status != 201 || b.status != 201 || b.replayed != "" || a.body == b.body {
				t.Fatalf("%d %s; %d %s", a.status, a.body, b.status, b.body)
			}
			if n := e.tickets(t); n != 2 {
				t.Fatalf("%d tickets, want 2", n)
			}
			if n := teststore.Count(t, e.db, `SELECT count(*) FROM idempotency_keys`); n != 0 {
				t.Fatalf("%d idempotency rows without the header", n)
			}
		}},
		{"BadKeyIs400NamingTheField", func(t *testing.T, e *idemEnv) {
			for _, k := range []string{"", `""`, strings.Repeat("k", 256)} {
				a := e.send("POST", createPath, e.alice, key(k), "application/json", []byte(createBody))
				if a.status != http.StatusBadRequest || !strings.Contains(a.body, "Idempotency-Key: must be") {
					t.Errorf("key %q: %d %s", k, a.status, a.body)
				}
			}
			if a := e.send("POST", createPath, e.alice, key(strings.Repeat("k", 255)), "application/json", []byte(createBody)); a.status != 201 {
				t.Errorf("a 255-character key: %d %s", a.status, a.body)
			}
			if n := e.tickets(t); n != 1 {
				t.Fatalf("%d tickets, want 1", n)
			}
		}},
		{"ErrorsOfTheClientAreReplayed", func(t *testing.T, e *idemEnv) {
			bad := []byte(`{"subject":"","description":"x"}`)
			a := e.send("POST", createPath, e.alice, key("k1"), "application/json", bad)
			b := e.send("POST", createPath, e.alice, key("k1"), "application/json", bad)
			if a.status != 400 || b.status != 400 || b.replayed != "true" || a.body != b.body {
				t.Fatalf("%d %s; %d replayed %q %s", a.status, a.body, b.status, b.replayed, b.body)
			}
		}},
		{"PutIsCovered", func(t *testing.T, e *idemEnv) {
			body := []byte(`{"name":"Support"}`)
			a := e.send("PUT", "/api/admin/Department/9", e.admin, key("d9"), "application/json", body)
			b := e.send("PUT", "/api/admin/Department/9", e.admin, key("d9"), "application/json", body)
			if a.status != 200 || b.replayed != "true" || a.body != b.body {
				t.Fatalf("%d %s; %d replayed %q %s", a.status, a.body, b.status, b.replayed, b.body)
			}
		}},
		{"CompatCreateIsCovered", func(t *testing.T, e *idemEnv) {
			e.putDepartment(2, "tech-support")
			ct, body := multipartBody(t, field("department_id", "2"), field("subject", "Site down"), field("message", "It shows a 502 since noon."))
			raw := body.Bytes()
			path := fmt.Sprintf("/v1/support/tickets?accountId=%d", acctA)
			a := e.send("POST", path, e.alice, key("c1"), ct, raw)
			b := e.send("POST", path, e.alice, key("c1"), ct, raw)
			if a.status != 200 || b.replayed != "true" || a.body != b.body || e.tickets(t) != 1 {
				t.Fatalf("%d %s; %d replayed %q %s", a.status, a.body, b.status, b.replayed, b.body)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newIdemEnv(t)) })
	}
}

// TestIdempotency_ServerErrorsAreNotStored: a 5xx says nothing of the request, so a retry
// with the key runs again, and its answer is the one kept.
func TestIdempotency_ServerErrorsAreNotStored(t *testing.T) {
	var calls atomic.Int32
	e := newIdemEnv(t, func(_ *core.Options, h *httpapi.Options) {
		h.LinkTelegram = func(context.Context, *core.User) (string, time.Time, error) {
			if calls.Add(1) == 1 {
				return "", time.Time{}, errors.New("telegram is down")
			}
			return fmt.Sprintf("code%d", calls.Load()), time.Now().Add(time.Hour), nil
		}
	})
	path := fmt.Sprintf("/api/Telegram/Link?accountId=%d", acctA)
	if a := e.send("POST", path, e.alice, key("t1"), "", nil); a.status != 500 {
		t.Fatalf("first: %d %s", a.status, a.body)
	}
	if n := teststore.Count(t, e.db, `SELECT count(*) FROM idempotency_keys`); n != 0 {
		t.Fatalf("%d rows kept after a 500", n)
	}
	b := e.send("POST", path, e.alice, key("t1"), "", nil)
	if b.status != 200 || b.replayed != "" || !strings.Contains(b.body, "code2") {
		t.Fatalf("retry after a 500: %d replayed %q %s", b.status, b.replayed, b.body)
	}
	// The link code is a secret shown once: its answer is not kept, the repeat is told.
	c := e.send("POST", path, e.alice, key("t1"), "", nil)
	if c.status != http.StatusConflict || c.replayed != "true" || !strings.Contains(c.body, "secret") || calls.Load() != 2 {
		t.Fatalf("third: %d replayed %q %s (%d calls)", c.status, c.replayed, c.body, calls.Load())
	}
	if n := teststore.Count(t, e.db, `SELECT count(*) FROM idempotency_keys WHERE body LIKE ?`, "%code2%"); n != 0 {
		t.Fatal("the link code is stored in clear")
	}
}

// TestIdempotency_NewAPIKeyIsNotStored: a created API key is shown once; the database keeps
// only its hash, and its answer under an Idempotency-Key is not kept either.
func TestIdempotency_NewAPIKeyIsNotStored(t *testing.T) {
	e := newIdemEnv(t)
	a := e.send("POST", fmt.Sprintf("/api/admin/User/%d/ApiKey", bobID), e.admin, key("k1"), "", nil)
	b := e.send("POST", fmt.Sprintf("/api/admin/User/%d/ApiKey", bobID), e.admin, key("k1"), "", nil)
	if a.status != 201 || b.status != http.StatusConflict || b.replayed != "true" || strings.Contains(b.body, `"key"`) {
		t.Fatalf("%d %s; %d replayed %q %s", a.status, a.body, b.status, b.replayed, b.body)
	}
	if n := teststore.Count(t, e.db, `SELECT count(*) FROM api_keys WHERE user_id = ?`, bobID); n != 2 {
		t.Fatalf("%d keys of Bob, want 2 (his own and one created)", n)
	}
}

// TestIdempotency_MultipartCreateReplayed sends a create with an attachment of 2 MiB, past
// what the body is held in memory for, twice: one ticket, one attachment, the same answer.
func TestIdempotency_MultipartCreateReplayed(t *testing.T) {
	e := newIdemEnv(t, func(c *core.Options, h *httpapi.Options) {
		c.MaxAttachmentBytes = 3 << 20
		h.MaxBodyBytes = 4 << 20
	})
	file := strings.Repeat("0123456789abcdef", 2<<20/16)
	ct, body := multipartBody(t, field("subject", "Logs"), field("description", "Attached."), filePart("big.log", "text/plain", file))
	raw := body.Bytes()
	a := e.send("POST", createPath, e.alice, key("m1"), ct, raw)
	b := e.send("POST", createPath, e.alice, key("m1"), ct, raw)
	if a.status != 201 || b.status != 201 || b.replayed != "true" || a.body != b.body {
		t.Fatalf("%d %s; %d replayed %q %s", a.status, a.body, b.status, b.replayed, b.body)
	}
	if n := e.tickets(t); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
	if n := teststore.Count(t, e.db, `SELECT count(*) FROM attachments WHERE size = ?`, len(file)); n != 1 {
		t.Fatalf("%d attachments of %d bytes, want 1: the handler did not get the whole body", n, len(file))
	}
	// The same form with one byte of the file changed is another request.
	_, other := multipartBody(t, field("subject", "Logs"), field("description", "Attached."), filePart("big.log", "text/plain", file[1:]+"x"))
	if c := e.send("POST", createPath, e.alice, key("m1"), ct, other.Bytes()); c.status != http.StatusUnprocessableEntity {
		t.Fatalf("changed file: %d %s", c.status, c.body)
	}
}

// TestIdempotency_DeadHolderIsTakenOver: a reservation whose process died before its write
// (its lock expired, nothing committed) is taken over and the request runs again.
func TestIdempotency_DeadHolderIsTakenOver(t *testing.T) {
	var calls atomic.Int32
	e := newIdemEnv(t, func(_ *core.Options, h *httpapi.Options) {
		h.LinkTelegram = func(context.Context, *core.User) (string, time.Time, error) {
			if calls.Add(1) == 1 {
				return "", time.Time{}, errors.New("crash")
			}
			return "code", time.Now().Add(time.Hour), nil
		}
	})
	path := fmt.Sprintf("/api/Telegram/Link?accountId=%d", acctA)
	e.store.noRelease.Store(true) // the first attempt "dies": its row stays running
	if a := e.send("POST", path, e.alice, key("t1"), "", nil); a.status != 500 {
		t.Fatalf("first: %d %s", a.status, a.body)
	}
	e.store.noRelease.Store(false)
	e.clock.advance(61 * time.Second)
	b := e.send("POST", path, e.alice, key("t1"), "", nil)
	if b.status != 200 || b.replayed != "" || calls.Load() != 2 {
		t.Fatalf("after the lock expired: %d replayed %q %s (%d calls)", b.status, b.replayed, b.body, calls.Load())
	}
}

// TestIdempotency_LostAnswerIs409: a write committed under the key whose answer was never
// stored is not run again; the repeat learns that it was applied.
func TestIdempotency_LostAnswerIs409(t *testing.T) {
	e := newIdemEnv(t)
	e.store.lostAnswers.Store(true)
	if a := e.send("POST", createPath, e.alice, key("k1"), "application/json", []byte(createBody)); a.status != 201 {
		t.Fatalf("first: %d %s", a.status, a.body)
	}
	e.store.lostAnswers.Store(false)
	if n := teststore.Count(t, e.db, `SELECT count(*) FROM idempotency_keys WHERE state = 'committed'`); n != 1 {
		t.Fatalf("%d committed rows, want 1: the write did not mark its key", n)
	}
	e.clock.advance(61 * time.Second)
	b := e.send("POST", createPath, e.alice, key("k1"), "application/json", []byte(createBody))
	if b.status != http.StatusConflict || !strings.Contains(b.body, "answer was lost") {
		t.Fatalf("repeat: %d %s", b.status, b.body)
	}
	if n := e.tickets(t); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
}

package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/metrics"
	"github.com/helpdeskd/helpdeskd/core"
)

// The provisioned world of every test: two accounts, a property in each, an admin, a staff
// user and one customer per account.
const (
	acctA, acctB = 101, 202
	propA, propB = 11, 22
	adminID      = 1
	staffID      = 2
	aliceID      = 3 // customer of account A
	bobID        = 4 // customer of account B

	testMaxAttachment = 1 << 10  // 1 KB
	testMaxBody       = 32 << 10 // 32 KB
)

type testEnv struct {
	t       *testing.T
	svc     *core.Service
	db      teststore.Store
	srv     *httptest.Server
	metrics *metrics.Metrics
	logs    *syncBuffer
	// clock is the service's: the wall clock until a test sets it (Set, Advance).
	clock *deskClock

	admin, staff, alice, bob string // API keys
}

// deskClock is a settable core.Clock: the wall clock until Set, then the time set, moved
// only by Advance.
type deskClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *deskClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now().UTC()
	}
	return c.at
}

// Set stops the clock at t.
func (c *deskClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = t.UTC()
}

// Advance moves a set clock by d (setting it to now + d first if it was not set).
func (c *deskClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		c.at = time.Now().UTC()
	}
	c.at = c.at.Add(d)
}

type envOption func(*core.Options, *httpapi.Options)

// newEnv opens a real SQLite database, provisions the world through core and serves the API.
func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	return newEnvBlobs(t, nil, opts...)
}

// newEnvBlobs is newEnv with the blob store passed through wrap (nil: as it is).
func newEnvBlobs(t *testing.T, wrap func(core.Blobs) core.Blobs, opts ...envOption) *testEnv {
	t.Helper()
	db := teststore.Open(t)
	blobs := db.Blobs()
	if wrap != nil {
		blobs = wrap(blobs)
	}
	copts := core.Options{MaxAttachmentBytes: testMaxAttachment}
	logs := &syncBuffer{}
	m := metrics.New()
	hopts := httpapi.Options{
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:      m,
		MaxBodyBytes: testMaxBody,
	}
	for _, o := range opts {
		o(&copts, &hopts)
	}
	// An option that turned metrics off leaves the core without its observer too.
	var em *metrics.Metrics
	if hm, ok := hopts.Metrics.(*metrics.Metrics); ok && hm != nil {
		copts.Observer, em = hm, hm
	}
	clock := &deskClock{}
	svc := core.NewService(db, blobs, clock, copts)
	e := &testEnv{t: t, svc: svc, db: db, metrics: em, logs: logs, clock: clock}

	ctx, sys := context.Background(), core.System()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("provision: %v", err)
		}
	}
	must(svc.PutAccount(ctx, sys, core.Account{ID: acctA, Name: "Account A"}))
	must(svc.PutAccount(ctx, sys, core.Account{ID: acctB, Name: "Account B"}))
	must(svc.PutProperty(ctx, sys, core.Property{ID: propA, AccountID: acctA, Name: "example.com"}))
	must(svc.PutProperty(ctx, sys, core.Property{ID: propB, AccountID: acctB, Name: "other.org"}))
	must(svc.PutUser(ctx, sys, core.User{ID: adminID, Email: "admin@helpdesk.test", Name: "Admin", Role: core.RoleAdmin}))
	must(svc.PutUser(ctx, sys, core.User{ID: staffID, Email: "staff@helpdesk.test", Name: "Staff", Role: core.RoleStaff}))
	must(svc.PutUser(ctx, sys, core.User{ID: aliceID, Email: "alice@a.test", Name: "Alice", Role: core.RoleCustomer, AccountIDs: []int64{acctA}}))
	must(svc.PutUser(ctx, sys, core.User{ID: bobID, Email: "bob@b.test", Name: "Bob", Role: core.RoleCustomer, AccountIDs: []int64{acctB}}))
	key := func(user int64) string {
		t.Helper()
		_, k, err := svc.CreateAPIKey(ctx, sys, user)
		if err != nil {
			t.Fatalf("create key: %v", err)
		}
		return k
	}
	e.admin, e.staff, e.alice, e.bob = key(adminID), key(staffID), key(aliceID), key(bobID)

	e.srv = httptest.NewServer(checkResponses(t, httpapi.New(svc, hopts)))
	t.Cleanup(e.srv.Close)
	return e
}

// syncBuffer is a log sink tests can read.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// reply is a decoded API answer.
type reply struct {
	status int
	header http.Header
	env    envelope
	raw    map[string]json.RawMessage
	body   []byte
}

type envelope struct {
	Succeeded    bool            `json:"succeeded"`
	Message      string          `json:"message"`
	Data         json.RawMessage `json:"data"`
	Errors       []string        `json:"errors"`
	PageNumber   int             `json:"pageNumber"`
	PageSize     int             `json:"pageSize"`
	TotalPages   int             `json:"totalPages"`
	TotalRecords int             `json:"totalRecords"`
}

// data decodes the envelope's data into v.
func (r *reply) data(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.env.Data, v); err != nil {
		t.Fatalf("decode data %s: %v", r.env.Data, err)
	}
}

// hasError reports whether one of the field errors contains want.
func (r *reply) hasError(want string) bool {
	return slices.ContainsFunc(r.env.Errors, func(s string) bool { return strings.Contains(s, want) })
}

func (r *reply) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// request sends a request with a raw body; key "" sends none.
func (e *testEnv) request(method, path, key, contentType string, body io.Reader) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

// call sends a request and decodes the envelope, checking its shape on the way.
func (e *testEnv) call(method, path, key, contentType string, body io.Reader) *reply {
	e.t.Helper()
	return e.decode(e.request(method, path, key, contentType, body))
}

// json sends body (a string is sent as is, anything else is marshalled) as application/json.
func (e *testEnv) json(method, path, key string, body any) *reply {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	ct := ""
	if r != nil {
		ct = "application/json"
	}
	return e.call(method, path, key, ct, r)
}

// decode reads an envelope answer and checks the envelope's shape: exactly the seven
// fields (plus errors on failures), and on failures succeeded false, data null and a message.
func (e *testEnv) decode(res *http.Response) *reply {
	e.t.Helper()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &reply{status: res.StatusCode, header: res.Header, body: body}
	if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		e.t.Fatalf("Content-Type %q, body %s", ct, body)
	}
	if err := json.Unmarshal(body, &r.raw); err != nil {
		e.t.Fatalf("answer is not a JSON object: %s", body)
	}
	if err := json.Unmarshal(body, &r.env); err != nil {
		e.t.Fatalf("answer is not an envelope: %s", body)
	}
	want := []string{"succeeded", "message", "data", "pageNumber", "pageSize", "totalPages", "totalRecords"}
	for _, k := range want {
		if _, ok := r.raw[k]; !ok {
			e.t.Errorf("envelope lacks %q: %s", k, body)
		}
	}
	for k := range r.raw {
		if !slices.Contains(want, k) && !(k == "errors" && res.StatusCode >= 400) && !(k == "totalRecordsCapped" && string(r.raw[k]) == "true") {
			e.t.Errorf("envelope has unexpected field %q: %s", k, body)
		}
	}
	if res.StatusCode >= 400 {
		if r.env.Succeeded || string(r.raw["data"]) != "null" || r.env.Message == "" {
			e.t.Errorf("error envelope must have succeeded false, data null and a message: %s", body)
		}
		if errs, ok := r.raw["errors"]; ok && len(r.env.Errors) == 0 {
			e.t.Errorf("errors present but empty (%s): %s", errs, body)
		}
	} else if !r.env.Succeeded {
		e.t.Errorf("status %d with succeeded false: %s", res.StatusCode, body)
	}
	return r
}

// expect fails unless the reply has the status.
func expect(t *testing.T, r *reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

// part is one multipart part: a text field, or a file when fileName or rawDisposition is set.
type part struct {
	name, value    string
	fileName       string
	contentType    string
	rawDisposition string // the whole Content-Disposition, for hostile names
	file           bool
}

// multipartBody builds a multipart/form-data body and its Content-Type.
func multipartBody(t *testing.T, parts ...part) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		switch {
		case p.rawDisposition != "":
			h.Set("Content-Disposition", p.rawDisposition)
		case p.file:
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.fileName))
		default:
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		}
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, p.value); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

func field(name, value string) part { return part{name: name, value: value} }

func filePart(fileName, contentType, content string) part {
	return part{name: "file", fileName: fileName, contentType: contentType, value: content, file: true}
}

// ticketData is the data of create and close.
type ticketData struct {
	ID           int64   `json:"id"`
	Subject      string  `json:"subject"`
	Status       int     `json:"status"`
	Topic        int     `json:"topic"`
	PropertyID   *int64  `json:"propertyId"`
	PropertyName *string `json:"propertyName"`
}

type messageData struct {
	ID          int64  `json:"id"`
	Author      string `json:"author"`
	Channel     string `json:"channel"`
	Message     string `json:"message"`
	FullBody    string `json:"fullBody"`
	Internal    bool   `json:"internal"`
	Hidden      bool   `json:"hidden"`
	CreatedAt   string `json:"createdAt"`
	Attachments []struct {
		ID          int64  `json:"id"`
		FileName    string `json:"fileName"`
		Size        int64  `json:"size"`
		ContentType string `json:"contentType"`
	} `json:"attachments"`
}

type eventData struct {
	At          string  `json:"at"`
	ActorUserID *int64  `json:"actorUserId"`
	Kind        string  `json:"kind"`
	From        *int    `json:"from"`
	To          *int    `json:"to"`
	Detail      *string `json:"detail"`
}

type detailData struct {
	ticketData
	AccountID    int64         `json:"accountId"`
	UserID       int64         `json:"userId"`
	Description  string        `json:"description"`
	CreatedAt    string        `json:"createdAt"`
	UpdatedAt    string        `json:"updatedAt"`
	MessageCount int           `json:"messageCount"`
	Messages     []messageData `json:"messages"`
	History      []eventData   `json:"history"`
}

// createTicket opens a ticket over the API and returns its ID.
func (e *testEnv) createTicket(key string, account int64, body map[string]any) int64 {
	e.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	if _, ok := body["subject"]; !ok {
		body["subject"] = "Site down"
	}
	if _, ok := body["description"]; !ok {
		body["description"] = "It shows a 502."
	}
	r := e.json("POST", fmt.Sprintf("/api/Ticket?accountId=%d", account), key, body)
	expect(e.t, r, http.StatusCreated)
	var d ticketData
	r.data(e.t, &d)
	return d.ID
}

// detail fetches a ticket as key sees it in account.
func (e *testEnv) detail(key string, account, id int64) detailData {
	e.t.Helper()
	r := e.json("GET", fmt.Sprintf("/api/Ticket/%d?accountId=%d", id, account), key, nil)
	expect(e.t, r, http.StatusOK)
	var d detailData
	r.data(e.t, &d)
	return d
}

package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"github.com/helpdeskd/helpdeskd/core"
)

// The GDPR world: Alice (account A), renamed Xanthippe Quorwell so that her name's words
// share no prefix with another indexed word (the search index stores words
// prefix-compressed: a grep of the database file finds only whole ones), has a ticket with a file, a staff reply naming her, an
// internal note, a reply by mail whose raw mail is kept, and a reply on the ticket of Carol,
// who shares account A; Carol has a file on each ticket; Bob (account B) has a ticket and a
// file of his own.
const (
	carolID   = 5
	aliceName = "Xanthippe Quorwell"
)

type gdprWorld struct {
	aliceTicket, carolTicket, bobTicket int64
	aliceFile, carolFile, bobFile       string // contents
	rawMail                             string
	carolKey                            string
	aliceAttachment                     int64
	aliceHash                           string
	rawHash                             string
	helloID                             int64 // the staff reply naming her, edited once
}

func newGDPREnv(t *testing.T) (*testEnv, gdprWorld) {
	t.Helper()
	idem := &idemStore{}
	e := newEnv(t, func(c *core.Options, h *httpapi.Options) {
		c.Notify.Email = true
		c.Notify.StaffEmails = []string{"desk@helpdesk.test"}
		h.Idempotency = idem
	})
	idem.IdempotencyStore = e.db.(httpapi.IdempotencyStore)
	e.clock.Set(time.Now().UTC().Truncate(time.Second))
	w := gdprWorld{aliceFile: "ALICE-PASSPORT-SCAN-0001", carolFile: "CAROL-CONTRACT-0002", bobFile: "BOB-INVOICE-0003",
		rawMail: "From: Alice <alice@a.test>\r\nSubject: Re: Site down\r\n\r\nALICE-RAW-MAIL-0004 still down\r\n"}
	expect(t, e.json("PUT", fmt.Sprintf("/api/admin/User/%d", aliceID), e.admin, map[string]any{
		"email": "alice@a.test", "name": aliceName, "accountIds": []int64{acctA}}), http.StatusOK)
	expect(t, e.json("PUT", fmt.Sprintf("/api/admin/User/%d", carolID), e.admin, map[string]any{
		"email": "carol@a.test", "name": "Carol", "accountIds": []int64{acctA}}), http.StatusOK)
	r := e.json("POST", fmt.Sprintf("/api/admin/User/%d/ApiKey", carolID), e.admin, nil)
	expect(t, r, http.StatusCreated)
	var k struct{ Key string }
	r.data(t, &k)
	w.carolKey = k.Key

	withFile := func(key string, account int64, subject, desc, file, content string) int64 {
		t.Helper()
		ct, body := multipartBody(t, field("subject", subject), field("description", desc), filePart(file, "text/plain", content))
		r := e.call("POST", fmt.Sprintf("/api/Ticket?accountId=%d", account), key, ct, body)
		expect(t, r, http.StatusCreated)
		var d ticketData
		r.data(t, &d)
		return d.ID
	}
	w.aliceTicket = withFile(e.alice, acctA, "Site down", "My site shows a 502.", "passport.txt", w.aliceFile)
	w.carolTicket = withFile(w.carolKey, acctA, "Invoice question", "Carol asks about billing.", "contract.txt", w.carolFile)
	w.bobTicket = withFile(e.bob, acctB, "Bob's mailbox", "Bob cannot log in.", "invoice.txt", w.bobFile)
	e.clock.Advance(time.Minute)
	hello := e.staffReply(w.aliceTicket, "Hello Xanthippe Quorwell, we look at it.", false)
	// An edit keeps the first text as a revision, which must be scrubbed too.
	expect(t, e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Message/%d", w.aliceTicket, hello.ID), e.staff,
		map[string]any{"message": "Hello Xanthippe, we are looking at it."}), http.StatusOK)
	w.helloID = hello.ID
	// A staff note sent with an Idempotency-Key: its answer, naming her, is kept for replays.
	expect(t, e.replayNote(w.aliceTicket), http.StatusCreated)
	e.staffReply(w.aliceTicket, "internal: Quorwell's host is web-7", true)
	ct, body := multipartBody(t, field("message", "Carol adds a log."), filePart("carol-log.txt", "text/plain", w.carolFile+"-LOG"))
	expect(t, e.call("POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", w.aliceTicket, acctA), w.carolKey, ct, body), http.StatusCreated)
	e.customerReply(e.alice, acctA, w.carolTicket, "Quorwell here: I see the same invoice.")

	// A reply by mail, as the pipeline applies it: the raw mail kept in the blob store.
	ctx := context.Background()
	hash, _, err := e.db.Blobs().Put(ctx, strings.NewReader(w.rawMail), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	w.rawHash = hash
	alice := &core.User{ID: aliceID, Email: "alice@a.test", Name: aliceName, Role: core.RoleCustomer, AccountIDs: []int64{acctA}}
	_, _, err = e.svc.Reply(ctx, core.Actor{User: alice, Channel: core.ChannelEmail}, core.TicketRef{ID: w.aliceTicket},
		core.NewReply{Body: "still down", Source: &core.Source{Channel: core.ChannelEmail, Key: "<r1@a.test>", RawHash: hash}})
	if err != nil {
		t.Fatal(err)
	}
	d := e.staffDetail(w.aliceTicket)
	for _, m := range d.Messages {
		for _, a := range m.Attachments {
			if a.FileName == "passport.txt" {
				w.aliceAttachment = a.ID
			}
		}
	}
	if w.aliceAttachment == 0 {
		t.Fatalf("no attachment on Alice's ticket: %+v", d.Messages)
	}
	w.aliceHash = sha(w.aliceFile)
	return e, w
}

// replayNote sends the same internal note under the same Idempotency-Key each time.
func (e *testEnv) replayNote(ticket int64) *reply {
	e.t.Helper()
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/staff/Ticket/%d/Reply", e.srv.URL, ticket),
		strings.NewReader(`{"message":"note: Quorwell called","internal":true}`))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-API-Key", e.staff)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "gdpr-note-1")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.decode(res)
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// exportDoc is the part of export.json the tests read.
type exportDoc struct {
	Format string `json:"format"`
	User   struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"user"`
	Memberships []struct{ ID int64 } `json:"memberships"`
	Tickets     []struct {
		ID       int64           `json:"id"`
		Messages []exportMessage `json:"messages"`
		History  []struct {
			Kind string `json:"kind"`
		} `json:"history"`
	} `json:"tickets"`
	OtherMessages []exportMessage `json:"otherMessages"`
	Notifications []struct {
		Recipient string `json:"recipient"`
		Kind      string `json:"kind"`
	} `json:"notifications"`
	Inbound []struct {
		Key     string `json:"key"`
		RawFile string `json:"rawFile"`
	} `json:"inbound"`
}

type exportMessage struct {
	ID           int64  `json:"id"`
	AuthorUserID int64  `json:"authorUserId"`
	Body         string `json:"body"`
	Attachments  []struct {
		FileName string `json:"fileName"`
		SHA256   string `json:"sha256"`
		File     string `json:"file"`
	} `json:"attachments"`
}

// export downloads a user's archive as key and returns its files by name.
func (e *testEnv) export(key string, id int64) (map[string][]byte, exportDoc) {
	e.t.Helper()
	res := e.request("GET", fmt.Sprintf("/api/admin/User/%d/Export", id), key, "", nil)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" {
		e.t.Fatalf("export: %d %s: %s", res.StatusCode, res.Header.Get("Content-Type"), raw)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		e.t.Fatalf("export is not a zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		files[f.Name] = b
	}
	var doc exportDoc
	if err := json.Unmarshal(files["export.json"], &doc); err != nil {
		e.t.Fatalf("export.json: %v\n%s", err, files["export.json"])
	}
	return files, doc
}

// TestExportUser_EverythingOfTheUserNothingOfOthers: the archive holds every message the
// user wrote (on their ticket and on another member's), the public staff replies of their
// ticket, every attachment of those with its bytes, their raw mail and the notifications to
// them — and nothing of Carol (same account) or Bob (another), nor the internal note.
func TestExportUser_EverythingOfTheUserNothingOfOthers(t *testing.T) {
	e, w := newGDPREnv(t)
	files, doc := e.export(e.admin, aliceID)

	if doc.Format != core.ExportFormat || doc.User.ID != aliceID || doc.User.Email != "alice@a.test" || doc.User.Name != aliceName {
		t.Errorf("user = %+v (format %q)", doc.User, doc.Format)
	}
	if len(doc.Memberships) != 1 || doc.Memberships[0].ID != acctA {
		t.Errorf("memberships = %+v", doc.Memberships)
	}
	if len(doc.Tickets) != 1 || doc.Tickets[0].ID != w.aliceTicket {
		t.Fatalf("tickets = %+v, want only %d", doc.Tickets, w.aliceTicket)
	}
	var bodies []string
	for _, m := range doc.Tickets[0].Messages {
		bodies = append(bodies, m.Body)
	}
	want := []string{"My site shows a 502.", "Hello Xanthippe, we are looking at it.", "still down"}
	if strings.Join(bodies, "|") != strings.Join(want, "|") {
		t.Errorf("messages of Alice's ticket = %q, want %q (no internal note, nothing of Carol)", bodies, want)
	}
	if len(doc.Tickets[0].History) == 0 {
		t.Error("the ticket's history is missing")
	}
	if len(doc.OtherMessages) != 1 || doc.OtherMessages[0].Body != "Quorwell here: I see the same invoice." || doc.OtherMessages[0].AuthorUserID != aliceID {
		t.Errorf("messages on other tickets = %+v, want Alice's reply on Carol's ticket only", doc.OtherMessages)
	}
	att := doc.Tickets[0].Messages[0].Attachments
	if len(att) != 1 || att[0].FileName != "passport.txt" || att[0].SHA256 != w.aliceHash || string(files[att[0].File]) != w.aliceFile {
		t.Errorf("attachment = %+v, file %q", att, files[att[0].File])
	}
	if len(doc.Inbound) != 1 || doc.Inbound[0].Key != "<r1@a.test>" || string(files[doc.Inbound[0].RawFile]) != w.rawMail {
		t.Errorf("inbound = %+v, raw file %q", doc.Inbound, files[doc.Inbound[0].RawFile])
	}
	if len(doc.Notifications) == 0 {
		t.Error("no notifications to Alice in the export")
	}
	for _, n := range doc.Notifications {
		if n.Recipient != "alice@a.test" {
			t.Errorf("notification to %q in Alice's export", n.Recipient)
		}
	}
	if len(files) != 3 {
		t.Errorf("archive holds %d files, want export.json, one attachment and one raw mail", len(files))
	}
	for name, b := range files {
		low := strings.ToLower(string(b))
		for _, other := range []string{"carol", "bob", strings.ToLower(w.carolFile), strings.ToLower(w.bobFile), "web-7", "invoice question"} {
			if strings.Contains(low, other) {
				t.Errorf("%s holds %q, which is not Alice's", name, other)
			}
		}
	}
	audit := e.auditOf(aliceID)
	if len(audit) != 1 || audit[0].Action != "user.export" || audit[0].ActorUserID == nil || *audit[0].ActorUserID != adminID ||
		strings.Contains(strings.ToLower(audit[0].Detail), "alice") {
		t.Errorf("audit = %+v, want one user.export by the admin without personal data", audit)
	}
}

type auditRow struct {
	Action      string `json:"action"`
	Subject     string `json:"subject"`
	ActorUserID *int64 `json:"actorUserId"`
	Detail      string `json:"detail"`
}

func (e *testEnv) auditOf(userID int64) []auditRow {
	e.t.Helper()
	r := e.json("GET", fmt.Sprintf("/api/admin/Audit?subject=user:%d", userID), e.admin, nil)
	expect(e.t, r, http.StatusOK)
	var list []auditRow
	r.data(e.t, &list)
	return list
}

func TestExportErase_Refused(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, key string
		status                  int
		field                   string
	}{
		{"export by staff", "GET", "/api/admin/User/3/Export", e.staff, http.StatusForbidden, ""},
		{"export by a customer", "GET", "/api/admin/User/3/Export", e.alice, http.StatusForbidden, ""},
		{"export of nobody", "GET", "/api/admin/User/99/Export", e.admin, http.StatusNotFound, ""},
		{"export of a bad id", "GET", "/api/admin/User/x/Export", e.admin, http.StatusBadRequest, "id"},
		{"erase by staff", "POST", "/api/admin/User/3/Erase", e.staff, http.StatusForbidden, ""},
		{"erase of nobody", "POST", "/api/admin/User/99/Erase", e.admin, http.StatusNotFound, ""},
		{"erase of a bad id", "POST", "/api/admin/User/0/Erase", e.admin, http.StatusBadRequest, "id"},
		{"erase of oneself", "POST", "/api/admin/User/1/Erase", e.admin, http.StatusBadRequest, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.json(tt.method, tt.path, tt.key, nil)
			expect(t, r, tt.status)
			if tt.field != "" && !r.hasError(tt.field) {
				t.Errorf("errors %q do not name %q", r.env.Errors, tt.field)
			}
		})
	}
	if got := e.auditOf(aliceID); len(got) != 0 {
		t.Errorf("refused requests were audited: %+v", got)
	}
}

// TestEraseUser_LeavesNoTrace: after an erasure no API answer, log line or store file holds
// Alice's name, address, attachment or raw mail; her messages stay, anonymised, and Carol's
// and Bob's data are untouched.
func TestEraseUser_LeavesNoTrace(t *testing.T) {
	e, w := newGDPREnv(t)
	// A search indexes her name (the staff reply and the note name her) before the erasure.
	if r := e.json("GET", "/api/staff/Ticket?q=xanthippe", e.staff, nil); r.status != http.StatusOK || r.env.TotalRecords == 0 {
		t.Fatalf("search for Alice before the erasure: %s", r)
	}
	if found := storeTraces(t, e, w); len(found) == 0 {
		t.Fatal("the store holds no trace of Alice before her erasure: the check below could not fail")
	}
	logFrom := len(e.logs.String())
	r := e.json("POST", fmt.Sprintf("/api/admin/User/%d/Erase", aliceID), e.admin, nil)
	expect(t, r, http.StatusOK)
	var res struct {
		UserID       int64 `json:"userId"`
		FilesDeleted int   `json:"filesDeleted"`
		FilesLeft    int   `json:"filesLeft"`
	}
	r.data(t, &res)
	if res.UserID != aliceID || res.FilesDeleted != 2 || res.FilesLeft != 0 {
		t.Errorf("erasure = %+v, want Alice's attachment and raw mail deleted", res)
	}
	if r := e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d", acctA), e.alice, nil); r.status != http.StatusUnauthorized {
		t.Errorf("Alice's key still works: %s", r)
	}

	// Every answer that could show her.
	id := func(p string, v ...any) string { return fmt.Sprintf(p, v...) }
	answers := map[string]string{}
	get := func(path, key string) string {
		t.Helper()
		res := e.request("GET", path, key, "", nil)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, res.StatusCode, b)
		}
		answers[path] = string(b)
		return string(b)
	}
	staffView := get(id("/api/staff/Ticket/%d", w.aliceTicket), e.staff)
	get(id("/api/staff/Ticket/%d/History", w.aliceTicket), e.staff)
	get(id("/api/staff/Ticket/%d", w.carolTicket), e.staff)
	get("/api/staff/Ticket", e.staff)
	get("/api/staff/Ticket?q=xanthippe", e.staff)
	for _, st := range []string{"pending", "sent", "failed", "canceled", "bounced"} {
		get("/api/staff/Notification?state="+st, e.staff)
	}
	get("/api/staff/InboundMail?result=rejected", e.staff)
	get("/api/staff/Event", e.staff)
	get(id("/api/Ticket/%d?accountId=%d", w.aliceTicket, acctA), w.carolKey)
	get(id("/api/Ticket/%d?accountId=%d", w.carolTicket, acctA), w.carolKey)
	get(id("/api/Ticket?accountId=%d", acctA), w.carolKey)
	get(id("/api/Event?accountId=%d", acctA), w.carolKey)
	get("/api/admin/Audit", e.admin)
	get(id("/api/staff/Ticket/%d/Message/%d/Revisions", w.aliceTicket, w.helloID), e.staff)
	get(id("/v1/support/tickets/%d?accountId=%d", w.aliceTicket, acctA), w.carolKey)
	replay := e.replayNote(w.aliceTicket)
	if replay.header.Get("Idempotent-Replayed") == "" || replay.status != http.StatusCreated {
		t.Errorf("the note's answer was not replayed: %s %v", replay, replay.header)
	}
	answers["Idempotency-Key replay"] = string(replay.body)
	carolFiles, _ := e.export(e.admin, carolID)
	for name, b := range carolFiles {
		answers["Carol's export:"+name] = string(b)
	}
	files, doc := e.export(e.admin, aliceID)
	for name, b := range files {
		answers["export:"+name] = string(b)
	}
	for where, body := range answers {
		checkNoTrace(t, where, []byte(body), w)
	}
	if doc.User.Name != core.ErasedName || doc.User.Email != core.ErasedEmail(aliceID) || len(files) != 1 {
		t.Errorf("export after erasure: user %+v, %d files", doc.User, len(files))
	}
	// Her messages stay for the account, their text kept, the author anonymised.
	if !strings.Contains(staffView, "My site shows a 502.") || !strings.Contains(staffView, "Hello Erased user, we are looking at it.") {
		t.Errorf("Alice's ticket lost its conversation: %s", staffView)
	}
	if r := e.json("GET", id("/api/staff/Ticket/%d/Attachment/%d", w.aliceTicket, w.aliceAttachment), e.staff, nil); r.status != http.StatusNotFound {
		t.Errorf("Alice's attachment still served: %d", r.status)
	}
	if r := e.json("GET", id("/api/staff/Ticket?q=%s", "Carol"), e.staff, nil); r.env.TotalRecords == 0 {
		t.Error("Carol's data went with Alice's")
	}
	checkNoTrace(t, "log after the erasure", []byte(e.logs.String()[logFrom:]), w)

	// The store: the database files (after the checkpoint the erasure ran) and the blobs.
	for _, h := range teststore.BlobHashes(t, e.db) {
		if strings.HasSuffix(h, w.aliceHash) || strings.HasSuffix(h, w.rawHash) {
			t.Errorf("blob %s of Alice is still stored", h)
		}
	}
	for _, h := range []string{sha(w.carolFile), sha(w.bobFile)} {
		if !containsSuffix(teststore.BlobHashes(t, e.db), h) {
			t.Errorf("blob %s of another user was removed", h)
		}
	}
	for _, f := range storeTraces(t, e, w) {
		t.Errorf("after the erasure, %s", f)
	}
	audit := e.auditOf(aliceID)
	// Newest first: the export above, after the erasure.
	if len(audit) != 2 || audit[0].Action != "user.export" || audit[1].Action != "user.erase" || audit[1].ActorUserID == nil || *audit[1].ActorUserID != adminID {
		t.Errorf("audit = %+v, want user.erase by the admin, then the export", audit)
	}
}

// storeTraces lists where the store holds a trace of Alice: on SQLite the files beside the
// database (the database, its WAL, the blobs), on Postgres the rows of every table as text
// (bytea as hex).
func storeTraces(t *testing.T, e *testEnv, w gdprWorld) []string {
	t.Helper()
	var found []string
	switch db := e.db.(type) {
	case *sqlite.DB:
		dir := filepath.Dir(db.Path())
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			low := bytes.ToLower(b)
			for _, needle := range traces(w) {
				if i := bytes.Index(low, []byte(strings.ToLower(needle))); i >= 0 {
					found = append(found, fmt.Sprintf("%s holds %q at %d", filepath.Base(path), needle, i))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	case *postgres.DB:
		ctx := context.Background()
		rows, err := db.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
		}
		rows.Close()
		for _, table := range tables {
			for _, needle := range traces(w) {
				var n int
				// bytea shows as hex: the needle's exact bytes, and its lower-case form.
				q := `SELECT count(*) FROM "` + table + `" t WHERE t::text ILIKE '%' || $1 || '%' OR t::text LIKE '%' || $2 || '%' OR t::text LIKE '%' || $3 || '%'`
				if err := db.Pool().QueryRow(ctx, q, needle, hex.EncodeToString([]byte(needle)),
					hex.EncodeToString([]byte(strings.ToLower(needle)))).Scan(&n); err != nil {
					t.Fatalf("%s: %v", table, err)
				}
				if n > 0 {
					found = append(found, fmt.Sprintf("table %s: %d rows hold %q", table, n, needle))
				}
			}
		}
	default:
		t.Fatalf("no store files to check for %T", e.db)
	}
	return found
}

// traces are what must not be found after Alice's erasure (in any case): her name and
// address, her file's bytes, her raw mail's.
func traces(w gdprWorld) []string {
	return []string{"alice", "xanthippe", "quorwell", w.aliceFile, "ALICE-RAW-MAIL-0004"}
}

var erasedWords = regexp.MustCompile(`(?i)erased-3@erased\.invalid`)

func checkNoTrace(t *testing.T, where string, b []byte, w gdprWorld) {
	t.Helper()
	low := bytes.ToLower(erasedWords.ReplaceAll(b, nil))
	for _, needle := range traces(w) {
		if i := bytes.Index(low, []byte(strings.ToLower(needle))); i >= 0 {
			from, to := max(0, i-60), min(len(low), i+60)
			t.Errorf("%s holds %q: …%q…", where, needle, low[from:to])
		}
	}
}

func containsSuffix(list []string, s string) bool {
	for _, h := range list {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	netmail "net/mail"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/smtp"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// abuseDesk is an in-process daemon with two accounts: ann (account 1) and bob (account 2),
// a staff user and an admin, each with a key.
type abuseDesk struct {
	*desk
	ann, bob, staff, admin string
	annTicket, bobTicket   int64
}

func startAbuseDesk(t *testing.T) *abuseDesk {
	t.Helper()
	cfg := config.Default()
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Server.RateLimitPerSecond = 0
	cfg.Database.Path = filepath.Join(t.TempDir(), "helpdeskd.db")
	useTestStore(t, &cfg)
	cfg.Attachments.MaxBytes = 1 << 10
	cfg.Server.MaxBodyBytes = 2 << 20
	d := &abuseDesk{desk: startDesk(t, cfg)}
	ctx, sys, svc := context.Background(), core.System(), d.m.Service
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "One"}))
	must(svc.PutAccount(ctx, sys, core.Account{ID: 2, Name: "Two"}))
	must(svc.PutProperty(ctx, sys, core.Property{ID: 1, AccountID: 1, Name: "one.example"}))
	must(svc.PutProperty(ctx, sys, core.Property{ID: 2, AccountID: 2, Name: "two.example"}))
	for _, u := range []core.User{
		{ID: 1, Email: "ann@one.example", Name: "Ann", AccountIDs: []int64{1}},
		{ID: 2, Email: "bob@two.example", Name: "Bob", AccountIDs: []int64{2}},
		{ID: 8, Email: "staff@desk.example", Name: "Staff", Role: core.RoleStaff},
		{ID: 9, Email: "admin@desk.example", Name: "Admin", Role: core.RoleAdmin},
	} {
		must(svc.PutUser(ctx, sys, u))
	}
	key := func(id int64) string {
		_, k, err := svc.CreateAPIKey(ctx, sys, id)
		must(nil, err)
		return k
	}
	d.ann, d.bob, d.staff, d.admin = key(1), key(2), key(8), key(9)
	registerSecrets(t, d.ann, d.bob, d.staff, d.admin)
	d.annTicket = d.mustCreate(t, d.ann, 1, "Ann's ticket")
	d.bobTicket = d.mustCreate(t, d.bob, 2, "Bob's ticket")
	return d
}

func (d *abuseDesk) mustCreate(t *testing.T, key string, account int64, subject string) int64 {
	t.Helper()
	var out struct {
		ID int64 `json:"id"`
	}
	d.api(t, "POST", fmt.Sprintf("/api/Ticket?accountId=%d", account), key, map[string]any{"subject": subject, "description": "d"}, 201, &out)
	return out.ID
}

// send sends a raw request and returns the status and the body; it checks that every
// answer is the envelope and no answer is a 500.
func (d *abuseDesk) send(t *testing.T, method, path, key, contentType string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, d.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable { // 503: a channel that is off
		t.Errorf("%s %.80s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, string(b)
}

// TestReliability_APIAbuse sends the API what it must refuse cleanly: huge and deep bodies,
// wrong types, bad IDs, injection in every parameter. Every answer is a 4xx envelope; the
// database is unchanged by any of them.
func TestReliability_APIAbuse(t *testing.T) {
	d := startAbuseDesk(t)
	ticket := fmt.Sprintf("/api/Ticket/%d", d.annTicket)
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	huge := `{"subject":"x","description":"` + strings.Repeat("A", 3<<20) + `"}`
	tests := []struct {
		name, method, path, ct, body string
		status                       int
	}{
		{"huge body", "POST", "/api/Ticket?accountId=1", "application/json", huge, 413},
		{"deep JSON", "POST", "/api/Ticket?accountId=1", "application/json", deep, 400},
		{"deep JSON in a field", "POST", "/api/Ticket?accountId=1", "application/json", `{"subject":` + deep + `}`, 400},
		{"subject a number", "POST", "/api/Ticket?accountId=1", "application/json", `{"subject":1,"description":"d"}`, 400},
		{"topic a string", "POST", "/api/Ticket?accountId=1", "application/json", `{"subject":"s","description":"d","topic":"1"}`, 400},
		{"topic overflowing", "POST", "/api/Ticket?accountId=1", "application/json", `{"subject":"s","description":"d","topic":99999999999999999999}`, 400},
		{"propertyId negative", "POST", "/api/Ticket?accountId=1", "application/json", `{"subject":"s","description":"d","propertyId":-1}`, 400},
		{"propertyId of another account", "POST", "/api/Ticket?accountId=1", "application/json", `{"subject":"s","description":"d","propertyId":2}`, 400},
		{"propertyId float", "POST", "/api/Ticket?accountId=1", "application/json", `{"subject":"s","description":"d","propertyId":1.5}`, 400},
		{"array body", "POST", "/api/Ticket?accountId=1", "application/json", `[]`, 400},
		{"two objects", "POST", "/api/Ticket?accountId=1", "application/json", `{"subject":"s","description":"d"}{}`, 400},
		// encoding/json replaces invalid UTF-8 with U+FFFD: stored as "\uFFFD", valid text.
		{"invalid UTF-8", "POST", "/api/Ticket?accountId=1", "application/json", "{\"subject\":\"\xff\",\"description\":\"d\"}", 201},
		{"wrong content type", "POST", "/api/Ticket?accountId=1", "text/xml", `<x/>`, 415},
		{"multipart without boundary", "POST", "/api/Ticket?accountId=1", "multipart/form-data", `--x--`, 400},
		{"accountId negative", "GET", "/api/Ticket?accountId=-1", "", "", 400},
		{"accountId overflowing", "GET", "/api/Ticket?accountId=99999999999999999999", "", "", 400},
		{"accountId twice", "GET", "/api/Ticket?accountId=1&accountId=2", "", "", 400},
		{"accountId SQL", "GET", "/api/Ticket?accountId=" + url.QueryEscape("1 OR 1=1"), "", "", 400},
		{"ticket id negative", "GET", "/api/Ticket/-1?accountId=1", "", "", 400},
		{"ticket id zero", "GET", "/api/Ticket/0?accountId=1", "", "", 400},
		{"ticket id overflowing", "GET", "/api/Ticket/9223372036854775808?accountId=1", "", "", 400},
		{"ticket id max", "GET", "/api/Ticket/9223372036854775807?accountId=1", "", "", 404},
		{"ticket id SQL", "GET", "/api/Ticket/" + url.PathEscape("1;DROP TABLE tickets") + "?accountId=1", "", "", 400},
		{"ticket id path traversal", "GET", "/api/Ticket/..%2F..%2Fetc%2Fpasswd?accountId=1", "", "", 400},
		{"attachment id traversal", "GET", ticket + "/Attachment/..%2F..%2Fhelpdeskd.db?accountId=1", "", "", 400},
		{"attachment id overflowing", "GET", ticket + "/Attachment/99999999999999999999?accountId=1", "", "", 400},
		{"attachment not there", "GET", ticket + "/Attachment/1?accountId=1", "", "", 404},
		{"status filter SQL", "GET", "/api/Ticket?accountId=1&status=" + url.QueryEscape("0) OR (1=1"), "", "", 400},
		{"page size huge", "GET", "/api/Ticket?accountId=1&pageSize=100000000", "", "", 400},
		{"page number negative", "GET", "/api/Ticket?accountId=1&pageNumber=-5", "", "", 400},
		{"staff search SQL", "GET", "/api/staff/Ticket?q=" + url.QueryEscape(`") OR 1=1 --`), "", "", 200},
		{"staff search FTS syntax", "GET", "/api/staff/Ticket?q=" + url.QueryEscape(`NEAR(" * ^ AND OR`), "", "", 200},
		{"admin id overflowing", "PUT", "/api/admin/Account/99999999999999999999", "application/json", `{"name":"x"}`, 400},
		{"admin name SQL", "PUT", "/api/admin/Account/77", "application/json", `{"name":"x'); DELETE FROM accounts; --"}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := d.ann
			if strings.HasPrefix(tt.path, "/api/staff/") || strings.HasPrefix(tt.path, "/api/admin/") {
				key = d.admin
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			status, resp := d.send(t, tt.method, tt.path, key, tt.ct, body)
			if status != tt.status {
				t.Errorf("%d, want %d: %.300s", status, tt.status, resp)
			}
			var env struct {
				Succeeded *bool `json:"succeeded"`
			}
			if err := json.Unmarshal([]byte(resp), &env); err != nil || env.Succeeded == nil {
				t.Errorf("not the envelope: %.200s", resp)
			}
		})
	}
	// Nothing above changed the tickets; the injected name is stored as text.
	var list []apiTicket
	d.api(t, "GET", "/api/staff/Ticket?pageSize=100", d.staff, nil, 200, &list)
	if len(list) != 3 || list[0].Subject != "\uFFFD" {
		t.Errorf("%d tickets after the abuse, want 3 (the U+FFFD one the last): %+v", len(list), list)
	}
}

// TestReliability_SubjectsInHeadersAndUnicode: a subject with CR/LF, another control
// character or U+2028 is refused (400 naming subject), and even when rendered into a mail
// it stays one Subject header, adding no header; RTL overrides, zero-width and combining
// characters are stored and returned byte for byte (decision in docs/reliability.md) and are
// encoded, not interpreted, in mail.
func TestReliability_SubjectsInHeadersAndUnicode(t *testing.T) {
	d := startAbuseDesk(t)
	sender, err := smtp.New(smtp.Options{Host: "127.0.0.1", Security: "none", From: "support@desk.example", FromName: "Desk\r\nBcc: x@evil.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{
		"Help\r\nBcc: victim@evil.example",
		"Help\nX-Injected: yes\n\nbody in the header",
		"Invoice \u202Efdp.exe\u202C",
		"zero\u200Bwidth\u200D\uFEFFjoin",
		"Ze\u0301\u0301\u0301\u0301 combining",
		"line\u2028separator",
	} {
		var tk apiTicket
		if strings.ContainsAny(subject, "\r\n\u2028") {
			status, body := d.send(t, "POST", "/api/Ticket?accountId=1", d.ann, "application/json",
				strings.NewReader(fmt.Sprintf(`{"subject":%q,"description":"d"}`, subject)))
			if status != 400 || !strings.Contains(body, "subject: must be one line") {
				t.Errorf("subject %q: %d %s, want 400 naming subject", subject, status, body)
			}
			tk.ID, tk.Subject = 1, subject // the mail header must hold even so
		} else {
			tk.ID = d.mustCreate(t, d.ann, 1, subject)
			d.api(t, "GET", fmt.Sprintf("/api/Ticket/%d?accountId=1", tk.ID), d.ann, nil, 200, &tk)
			if tk.Subject != strings.TrimSpace(subject) {
				t.Errorf("subject %q stored as %q", subject, tk.Subject)
			}
		}
		id := tk.ID
		raw, err := sender.Render(gateway.Outgoing{To: "ann@one.example", Subject: fmt.Sprintf("[#%d] %s", id, tk.Subject), Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := netmail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("rendered mail does not parse: %v\n%s", err, raw)
		}
		for _, h := range []string{"Bcc", "X-Injected"} {
			if msg.Header.Get(h) != "" {
				t.Errorf("subject %q added a %s header:\n%s", subject, h, raw)
			}
		}
		if n := len(msg.Header["Subject"]); n != 1 {
			t.Errorf("subject %q: %d Subject headers", subject, n)
		}
		dec, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || !strings.HasPrefix(dec, fmt.Sprintf("[#%d] ", id)) || strings.ContainsAny(dec, "\r\n") {
			t.Errorf("subject %q rendered as %q (%v)", subject, dec, err)
		}
		if !strings.Contains(string(raw), "From: \"Desk Bcc: x@evil.example\"") && msg.Header.Get("Bcc") != "" {
			t.Errorf("from name injected a header:\n%s", raw)
		}
	}
}

// TestReliability_EveryRouteRefusesOtherAccounts walks every registered route and calls it
// with bob's key on ann's ticket (and attachment): customer routes answer 404 (the ticket
// does not exist for him), staff and admin routes 403; ann's ticket is unchanged. A revoked
// key stops at once.
func TestReliability_EveryRouteRefusesOtherAccounts(t *testing.T) {
	d := startAbuseDesk(t)
	// Ann's ticket gets an attachment, so that the attachment route has something to guard.
	var b bytes.Buffer
	fmt.Fprintf(&b, "--B\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nfile\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nsecret\r\n--B--\r\n")
	if status, body := d.send(t, "POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=1", d.annTicket), d.ann, "multipart/form-data; boundary=B", &b); status != 201 {
		t.Fatalf("reply with a file: %d %s", status, body)
	}
	var attID int64
	if err := openRawDB(t, d.m.Config.Database.Path).QueryRow(`SELECT max(id) FROM attachments`).Scan(&attID); err != nil || attID == 0 {
		t.Fatalf("attachment id: %v", err)
	}
	routes := httpapi.New(d.m.Service, httpapi.Options{}).(chi.Routes)
	n := 0
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/")
		if !strings.HasPrefix(route, "/api/") && !strings.HasPrefix(route, "/v1/") || strings.HasSuffix(route, "openapi.json") {
			return nil
		}
		path := strings.NewReplacer("{id}", fmt.Sprint(d.annTicket), "{attachmentId}", fmt.Sprint(attID), "{messageId}", "1", "{keyId}", "1").Replace(route)
		for _, account := range []string{"2", "1"} { // bob's own account, and ann's
			p := path
			if strings.HasPrefix(route, "/api/") && !strings.HasPrefix(route, "/api/staff/") && !strings.HasPrefix(route, "/api/admin/") {
				p += "?accountId=" + account
			}
			payload := `{"message":"x"}` // valid for the reply routes, so that only access decides
			if !strings.HasSuffix(route, "/Reply") {
				payload = `{}`
			}
			status, body := d.send(t, method, p, d.bob, "application/json", strings.NewReader(payload))
			var want []int
			switch {
			case strings.HasPrefix(route, "/api/staff/") || strings.HasPrefix(route, "/api/admin/"):
				want = []int{403}
			case strings.Contains(route, "{id}"):
				want = []int{404, 403} // 404 in his account; 403 naming ann's account
				if account == "2" {
					want = []int{404}
				}
			default: // lists, enums, create, link: his own data or a refusal
				want = []int{200, 201, 400, 403, 404, 415, 503}
			}
			if !containsInt(want, status) {
				t.Errorf("bob %s %s: %d, want %v: %.200s", method, p, status, want, body)
			}
			if strings.Contains(body, "secret") || strings.Contains(body, "Ann's ticket") {
				t.Errorf("bob %s %s: sees ann's data: %.300s", method, p, body)
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Fatalf("only %d routes walked", n)
	}
	var tk apiTicket
	d.api(t, "GET", fmt.Sprintf("/api/Ticket/%d?accountId=1", d.annTicket), d.ann, nil, 200, &tk)
	if tk.Status != 0 || len(tk.Messages) != 2 {
		t.Errorf("bob's calls changed ann's ticket: %+v", tk)
	}

	// A revoked key is refused on the very next request, over HTTP as the panel would do it.
	ctx := context.Background()
	k, secret, err := d.m.Service.CreateAPIKey(ctx, core.System(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := d.send(t, "GET", "/api/Ticket?accountId=1", secret, "", nil); status != 200 {
		t.Fatalf("new key: %d", status)
	}
	if status, body := d.send(t, "DELETE", fmt.Sprintf("/api/admin/User/1/ApiKey/%d", k.ID), d.admin, "", nil); status != 200 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if status, _ := d.send(t, "GET", "/api/Ticket?accountId=1", secret, "", nil); status != 401 {
		t.Errorf("revoked key: %d, want 401", status)
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

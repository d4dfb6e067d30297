package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

func TestOps(t *testing.T) {
	ready := errors.New("database is read-only")
	e := newEnv(t, func(_ *core.Options, h *httpapi.Options) {
		h.Ready = func(context.Context) error { return ready }
	})
	r := e.json("GET", "/healthz", "", nil)
	expect(t, r, 200)
	if r.env.Message != "ok" || string(r.raw["data"]) != "null" {
		t.Errorf("healthz %s", r.body)
	}

	r = e.json("GET", "/readyz", "", nil)
	expect(t, r, 503)
	if !strings.Contains(r.env.Message, "database is read-only") {
		t.Errorf("readyz message %q", r.env.Message)
	}
	ready = nil
	expect(t, e.json("GET", "/readyz", "", nil), 200)

	// One ticket through a templated route, then scrape.
	id := e.createTicket(e.alice, acctA, nil)
	e.detail(e.alice, acctA, id)
	expect(t, e.json("GET", "/nowhere/"+strings.Repeat("x", 10), "", nil), 404)
	res := e.request("GET", "/metrics", "", "", nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("metrics %d", res.StatusCode)
	}
	for _, want := range []string{
		`helpdeskd_http_request_duration_seconds_count{code="200",method="GET",route="/api/Ticket/{id}"} 1`,
		`helpdeskd_http_request_duration_seconds_count{code="201",method="POST",route="/api/Ticket"} 1`,
		`helpdeskd_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`helpdeskd_tickets_created_total{channel="api"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), fmt.Sprintf("/api/Ticket/%d", id)) || strings.Contains(string(body), "nowhere") {
		t.Error("metrics carry a raw path")
	}
}

func TestOps_NoMetrics(t *testing.T) {
	e := newEnv(t, func(_ *core.Options, h *httpapi.Options) { h.Metrics = nil })
	expect(t, e.json("GET", "/metrics", "", nil), 404)
	expect(t, e.json("GET", "/readyz", "", nil), 200)
}

func TestRouting_NotFoundAndMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, key string
		status                  int
		allow                   string
	}{
		{"unknown root path", "GET", "/nope", "", 404, ""},
		{"unknown api path", "GET", "/api/Nope", e.alice, 404, ""},
		{"lower-case path", "GET", "/api/ticket?accountId=101", e.alice, 404, ""},
		{"unknown under a ticket", "GET", "/api/Ticket/1/Nope?accountId=101", e.alice, 404, ""},
		{"wrong method on tickets", "DELETE", "/api/Ticket?accountId=101", e.alice, 405, "GET, POST"},
		{"wrong method on ticket", "PUT", "/api/Ticket/1?accountId=101", e.alice, 405, "GET"},
		{"wrong method on healthz", "POST", "/healthz", "", 405, "GET"},
		{"unknown method", "BREW", "/api/Ticket", e.alice, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(tt.method, tt.path, tt.key, "", nil)
			expect(t, r, tt.status)
			if tt.allow != "" && r.header.Get("Allow") != tt.allow {
				t.Errorf("Allow %q, want %q", r.header.Get("Allow"), tt.allow)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	send := func(id string) string {
		req, _ := http.NewRequest("GET", e.srv.URL+"/healthz", nil)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header.Get("X-Request-Id")
	}
	if got := send(""); got == "" {
		t.Error("no request id made up")
	}
	if got := send("lb-1234.abc"); got != "lb-1234.abc" {
		t.Errorf("client request id not kept: %q", got)
	}
	if got := send("evil id\twith=stuff"); got == "" || strings.Contains(got, "evil") {
		t.Errorf("unsafe client request id kept: %q", got)
	}
}

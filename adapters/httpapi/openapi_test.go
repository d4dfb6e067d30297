package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

// TestOpenAPI_DocumentsEveryRoute walks the routes chi has registered and the paths the
// served document names: every route is documented and every documented operation exists.
func TestOpenAPI_DocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)                                                  // with metrics, so /metrics is registered
	res, err := e.srv.Client().Get(e.srv.URL + "/api/openapi.json") // no key
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	h := httpapi.New(e.svc, httpapi.Options{Metrics: e.metrics})
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("handler is %T, not chi.Routes", h)
	}
	registered := map[string]bool{}
	err = chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/") // chi's mount points
		registered[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(registered) < 40 {
		t.Fatalf("only %d routes walked: %v", len(registered), registered)
	}
	var missing, extra []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !registered[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("registered but not documented: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("documented but not registered: %v", extra)
	}

	// Every $ref names a schema the document defines.
	for _, m := range refPattern.FindAllStringSubmatch(string(body), -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			t.Errorf("dangling $ref %q", m[1])
		}
	}
}

// TestStaffRoutes_ForbiddenToCustomers sends every registered staff and admin route a
// customer's key: 403 each time, before anything is decoded or looked up.
func TestStaffRoutes_ForbiddenToCustomers(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	routes := httpapi.New(e.svc, httpapi.Options{}).(chi.Routes)
	n := 0
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/")
		staff := strings.HasPrefix(route, "/api/staff/")
		if !staff && !strings.HasPrefix(route, "/api/admin/") {
			return nil
		}
		path := strings.NewReplacer("{id}", itoa(id), "{messageId}", "1", "{attachmentId}", "1", "{keyId}", "1").Replace(route)
		keys := []string{e.alice}
		if !staff {
			keys = append(keys, e.staff)
		}
		for _, key := range keys {
			r := e.call(method, path, key, "application/json", strings.NewReader(`{"message":"x","internal":true}`))
			if r.status != http.StatusForbidden {
				t.Errorf("%s %s: %s", method, path, r)
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 25 {
		t.Fatalf("only %d staff/admin routes walked", n)
	}
	// core refuses too, whatever the transport.
	alice := core.Actor{User: &core.User{ID: aliceID, Role: core.RoleCustomer, AccountIDs: []int64{acctA}}, Channel: core.ChannelAPI}
	if _, _, err := e.svc.Queue(t.Context(), alice, core.QueueFilter{}); core.ErrorCode(err) != core.EFORBIDDEN {
		t.Fatalf("core queue as a customer: %v", err)
	}
	if !slices.Contains([]int{http.StatusOK}, e.json("GET", "/api/staff/Ticket", e.staff, nil).status) {
		t.Fatal("staff cannot read the queue")
	}
}

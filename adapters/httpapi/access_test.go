package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

func TestAuth(t *testing.T) {
	e := newEnv(t)
	path := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)
	send := func(header, value string) *reply {
		t.Helper()
		req, err := http.NewRequest("GET", e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if header != "" {
			req.Header.Set(header, value)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return e.decode(res)
	}
	tests := []struct {
		name, header, value string
		status              int
	}{
		{"X-API-Key", "X-API-Key", e.alice, 200},
		{"Bearer", "Authorization", "Bearer " + e.alice, 200},
		{"bearer in lower case", "Authorization", "bearer " + e.alice, 200},
		{"missing", "", "", 401},
		{"empty X-API-Key", "X-API-Key", "", 401},
		{"wrong key", "X-API-Key", core.APIKeyPrefix + "not-a-real-key", 401},
		{"wrong bearer", "Authorization", "Bearer nope", 401},
		{"basic scheme", "Authorization", "Basic " + e.alice, 401},
		{"bearer without token", "Authorization", "Bearer", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(tt.header, tt.value)
			expect(t, r, tt.status)
			if tt.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: %v", r.header)
			}
		})
	}
	t.Run("every api route needs a key", func(t *testing.T) {
		for _, rt := range []struct{ method, path string }{
			{"POST", "/api/Ticket?accountId=101"}, {"GET", "/api/Ticket/1?accountId=101"},
			{"POST", "/api/Ticket/1/Reply?accountId=101"}, {"POST", "/api/Ticket/1/Close?accountId=101"},
			{"GET", "/api/Ticket/1/Attachment/1?accountId=101"}, {"GET", "/api/Property?accountId=101"},
			{"POST", "/api/Telegram/Link?accountId=101"}, {"GET", "/api/Ticket/Statuses"},
			{"POST", "/api/staff/Ticket/1/Status"}, {"POST", "/api/staff/Ticket/1/Reply"},
			{"PUT", "/api/admin/Account/1"}, {"PUT", "/api/admin/User/1"}, {"PUT", "/api/admin/Property/1"},
			{"POST", "/api/admin/User/1/ApiKey"}, {"DELETE", "/api/admin/User/1/ApiKey/1"},
			{"GET", "/api/NoSuchThing"},
		} {
			expect(t, e.call(rt.method, rt.path, "", "", nil), 401)
		}
	})
}

func TestForbidden(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	tests := []struct {
		name, key, method, path, body string
	}{
		{"customer on staff status", e.alice, "POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), `{"status":1}`},
		{"customer on staff status, bad body", e.alice, "POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), `not json`},
		{"customer on staff reply", e.alice, "POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), `{"message":"x","internal":true}`},
		{"customer on admin account", e.alice, "PUT", "/api/admin/Account/5", `{"name":"x"}`},
		{"customer on admin user", e.alice, "PUT", "/api/admin/User/5", `{"email":"x@y.z","name":"x"}`},
		{"customer on admin property", e.alice, "PUT", "/api/admin/Property/5", `{"accountId":101,"name":"x"}`},
		{"customer on admin key create", e.alice, "POST", fmt.Sprintf("/api/admin/User/%d/ApiKey", aliceID), ``},
		{"customer on admin key delete", e.alice, "DELETE", fmt.Sprintf("/api/admin/User/%d/ApiKey/1", aliceID), ``},
		{"staff on admin account", e.staff, "PUT", "/api/admin/Account/5", `{"name":"x"}`},
		{"staff on admin key create", e.staff, "POST", fmt.Sprintf("/api/admin/User/%d/ApiKey", staffID), ``},
		{"customer in another account: get", e.alice, "GET", fmt.Sprintf("/api/Ticket/%d?accountId=%d", id, acctB), ``},
		{"customer in another account: reply", e.alice, "POST", fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", id, acctB), `{"message":"x"}`},
		{"customer in another account: close", e.alice, "POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=%d", id, acctB), ``},
		{"customer in another account: list", e.alice, "GET", fmt.Sprintf("/api/Ticket?accountId=%d", acctB), ``},
		{"customer in another account: properties", e.alice, "GET", fmt.Sprintf("/api/Property?accountId=%d", acctB), ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			ct := ""
			if tt.body != "" {
				body, ct = strings.NewReader(tt.body), "application/json"
			}
			expect(t, e.call(tt.method, tt.path, tt.key, ct, body), 403)
		})
	}
	if d := e.detail(e.alice, acctA, id); d.Status != 0 || len(d.Messages) != 1 {
		t.Errorf("a refused call changed the ticket: %+v", d)
	}
}

func TestStaffEndpoints_Validation(t *testing.T) {
	e := newEnv(t)
	id := e.createTicket(e.alice, acctA, nil)
	tests := []struct {
		name, path, ct, body string
		status               int
		field                string
	}{
		{"status missing", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), "application/json", `{}`, 400, "status: is required"},
		{"status Open", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), "application/json", `{"status":0}`, 400, "status"},
		{"status 7", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), "application/json", `{"status":7}`, 400, "status"},
		{"status string", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), "application/json", `{"status":"Resolved"}`, 400, "status: must be an integer"},
		{"status multipart", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), "multipart/form-data; boundary=x", `--x--`, 415, ""},
		{"status unknown ticket", "/api/staff/Ticket/99999/Status", "application/json", `{"status":1}`, 404, ""},
		{"status bad id", "/api/staff/Ticket/x/Status", "application/json", `{"status":1}`, 400, "id: must be a positive integer"},
		{"reply empty", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), "application/json", `{"message":""}`, 400, "message: must not be empty"},
		{"reply internal not a bool", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), "application/json", `{"message":"x","internal":"yes"}`, 400, "internal: must be true or false"},
		{"reply unknown ticket", "/api/staff/Ticket/99999/Reply", "application/json", `{"message":"x"}`, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", tt.path, e.staff, tt.ct, strings.NewReader(tt.body))
			expect(t, r, tt.status)
			if tt.field != "" && !r.hasError(tt.field) {
				t.Errorf("errors %q lack %q", r.env.Errors, tt.field)
			}
		})
	}
}

func TestAdmin(t *testing.T) {
	e := newEnv(t)
	put := func(path string, body any) *reply { t.Helper(); return e.json("PUT", path, e.admin, body) }

	t.Run("account upsert is idempotent", func(t *testing.T) {
		for _, name := range []string{"Acme", "Acme Ltd"} {
			r := put("/api/admin/Account/303", map[string]any{"name": name})
			expect(t, r, 200)
			if string(r.env.Data) != fmt.Sprintf(`{"id":303,"name":%q}`, name) {
				t.Errorf("data %s", r.env.Data)
			}
		}
	})
	t.Run("property", func(t *testing.T) {
		r := put("/api/admin/Property/33", map[string]any{"accountId": 303, "name": "acme.test"})
		expect(t, r, 200)
		if string(r.env.Data) != `{"id":33,"accountId":303,"name":"acme.test"}` {
			t.Errorf("data %s", r.env.Data)
		}
	})
	t.Run("user", func(t *testing.T) {
		r := put("/api/admin/User/9", map[string]any{"email": "Carol@Acme.Test", "name": "Carol", "role": "customer",
			"accountIds": []int64{303, acctA}, "defaultAccountId": 303, "language": "ES-es"})
		expect(t, r, 200)
		want := `{"id":9,"email":"carol@acme.test","name":"Carol","role":"customer","accountIds":[101,303],"defaultAccountId":303,"language":"es-ES"}`
		if string(r.env.Data) != want {
			t.Errorf("data %s\nwant %s", r.env.Data, want)
		}
		r = put("/api/admin/User/9", map[string]any{"email": "carol@acme.test", "name": "Carol"})
		expect(t, r, 200)
		if !strings.Contains(string(r.env.Data), `"accountIds":[]`) || !strings.Contains(string(r.env.Data), `"defaultAccountId":null`) ||
			!strings.Contains(string(r.env.Data), `"language":""`) {
			t.Errorf("data %s", r.env.Data)
		}
	})

	bad := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"account name empty", "PUT", "/api/admin/Account/5", `{"name":" "}`, 400, "name: must not be empty"},
		{"account id not a number", "PUT", "/api/admin/Account/x", `{"name":"n"}`, 400, "id: must be a positive integer"},
		{"account unknown field", "PUT", "/api/admin/Account/5", `{"id":5,"name":"n"}`, 400, "id: unknown field"},
		{"account text/plain", "PUT", "/api/admin/Account/5", ``, 415, ""},
		{"user bad email", "PUT", "/api/admin/User/5", `{"email":"nope","name":"n"}`, 400, "email: must be a valid email address"},
		{"user bad role", "PUT", "/api/admin/User/5", `{"email":"a@b.c","name":"n","role":"root"}`, 400, "role: must be customer, staff or admin"},
		{"user accountIds not a list", "PUT", "/api/admin/User/5", `{"email":"a@b.c","name":"n","accountIds":5}`, 400, "accountIds: must be a list"},
		{"user missing account", "PUT", "/api/admin/User/5", `{"email":"a@b.c","name":"n","accountIds":[999]}`, 400, "accountIds: account 999 does not exist"},
		{"user default not a member", "PUT", "/api/admin/User/5", `{"email":"a@b.c","name":"n","accountIds":[101],"defaultAccountId":202}`, 400, "defaultAccountId: must be one of accountIds"},
		{"user bad language", "PUT", "/api/admin/User/5", `{"email":"a@b.c","name":"n","language":"Spanish"}`, 400, "language: must be a language tag such as en, es or pt-BR"},
		{"user email taken", "PUT", "/api/admin/User/5", `{"email":"alice@a.test","name":"n"}`, 409, ""},
		{"property missing account", "PUT", "/api/admin/Property/5", `{"accountId":999,"name":"n"}`, 400, "accountId: account does not exist"},
		{"property no account", "PUT", "/api/admin/Property/5", `{"name":"n"}`, 400, "accountId: must be a positive integer"},
		{"key for unknown user", "POST", "/api/admin/User/999/ApiKey", ``, 404, ""},
		{"delete unknown key", "DELETE", fmt.Sprintf("/api/admin/User/%d/ApiKey/99999", aliceID), ``, 404, ""},
		{"delete key bad id", "DELETE", fmt.Sprintf("/api/admin/User/%d/ApiKey/x", aliceID), ``, 400, "keyId: must be a positive integer"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			ct := "application/json"
			if b.status == 415 {
				ct = "text/plain"
			}
			var body io.Reader
			if b.body != "" || b.method == "PUT" {
				body = strings.NewReader(b.body)
			} else {
				ct = ""
			}
			r := e.call(b.method, b.path, e.admin, ct, body)
			expect(t, r, b.status)
			if b.field != "" && !r.hasError(b.field) {
				t.Errorf("errors %q lack %q", r.env.Errors, b.field)
			}
		})
	}

	t.Run("api key lifecycle", func(t *testing.T) {
		r := e.json("POST", fmt.Sprintf("/api/admin/User/%d/ApiKey", bobID), e.admin, nil)
		expect(t, r, 201)
		var k struct {
			ID        int64  `json:"id"`
			Key       string `json:"key"`
			Prefix    string `json:"prefix"`
			CreatedAt string `json:"createdAt"`
		}
		r.data(t, &k)
		if k.ID <= 0 || !strings.HasPrefix(k.Key, core.APIKeyPrefix) || !strings.HasPrefix(k.Key, k.Prefix) || k.CreatedAt == "" {
			t.Fatalf("key %s", r.env.Data)
		}
		list := fmt.Sprintf("/api/Ticket?accountId=%d", acctB)
		expect(t, e.json("GET", list, k.Key, nil), 200)

		del := fmt.Sprintf("/api/admin/User/%d/ApiKey/%d", bobID, k.ID)
		expect(t, e.json("DELETE", fmt.Sprintf("/api/admin/User/%d/ApiKey/%d", aliceID, k.ID), e.admin, nil), 404)
		r = e.json("DELETE", del, e.admin, nil)
		expect(t, r, 200)
		if string(r.raw["data"]) != "null" {
			t.Errorf("delete data %s", r.raw["data"])
		}
		expect(t, e.json("GET", list, k.Key, nil), 401)
		expect(t, e.json("DELETE", del, e.admin, nil), 404)
		expect(t, e.json("GET", list, e.bob, nil), 200) // the other key still works
	})
}

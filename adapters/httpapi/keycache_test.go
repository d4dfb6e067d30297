package httpapi_test

import (
	"fmt"
	"testing"
)

// The users of keys are cached in memory (core's key cache); a change through the API must
// still show on the very next request. Each key is used several times first so that what
// is checked is the cached answer, not a fresh read.
func TestKeyCache_ChangesShowAtOnce(t *testing.T) {
	e := newEnv(t)
	warm := func(method, path, key string, status int) {
		t.Helper()
		for range 3 {
			expect(t, e.json(method, path, key, nil), status)
		}
	}
	listA := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)

	t.Run("revoked key is refused", func(t *testing.T) {
		r := e.json("POST", fmt.Sprintf("/api/admin/User/%d/ApiKey", aliceID), e.admin, nil)
		expect(t, r, 201)
		var k struct {
			ID  int64  `json:"id"`
			Key string `json:"key"`
		}
		r.data(t, &k)
		warm("GET", listA, k.Key, 200)
		expect(t, e.json("DELETE", fmt.Sprintf("/api/admin/User/%d/ApiKey/%d", aliceID, k.ID), e.admin, nil), 200)
		expect(t, e.json("GET", listA, k.Key, nil), 401)
		expect(t, e.json("GET", listA, e.alice, nil), 200) // her other key still works
	})

	t.Run("staff made customer loses the staff API", func(t *testing.T) {
		warm("GET", "/api/staff/Ticket", e.staff, 200)
		expect(t, e.json("PUT", fmt.Sprintf("/api/admin/User/%d", staffID), e.admin,
			map[string]any{"email": "staff@helpdesk.test", "name": "Staff", "role": "customer", "accountIds": []int64{acctA}}), 200)
		expect(t, e.json("GET", "/api/staff/Ticket", e.staff, nil), 403)
		expect(t, e.json("GET", listA, e.staff, nil), 200) // now a customer of account A
	})

	t.Run("removed membership closes the account", func(t *testing.T) {
		warm("GET", listA, e.alice, 200)
		expect(t, e.json("PUT", fmt.Sprintf("/api/admin/User/%d", aliceID), e.admin,
			map[string]any{"email": "alice@a.test", "name": "Alice", "role": "customer", "accountIds": []int64{acctB}}), 200)
		r := e.json("GET", listA, e.alice, nil)
		if r.status != 403 && r.status != 404 {
			t.Fatalf("list of a left account: %s, want 403 or 404", r)
		}
		expect(t, e.json("GET", fmt.Sprintf("/api/Ticket?accountId=%d", acctB), e.alice, nil), 200)
	})

	t.Run("customer made staff gets the staff API", func(t *testing.T) {
		warm("GET", "/api/staff/Ticket", e.bob, 403)
		expect(t, e.json("PUT", fmt.Sprintf("/api/admin/User/%d", bobID), e.admin,
			map[string]any{"email": "bob@b.test", "name": "Bob", "role": "staff"}), 200)
		expect(t, e.json("GET", "/api/staff/Ticket", e.bob, nil), 200)
	})
}

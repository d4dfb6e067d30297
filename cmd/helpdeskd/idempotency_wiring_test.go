package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// TestIdempotency_WiredOnTheDaemon: the daemon's API honours Idempotency-Key on its store,
// and its sweep deletes the rows that expired.
func TestIdempotency_WiredOnTheDaemon(t *testing.T) {
	m := runMain(t, opsConfig(t, t.TempDir()))
	ctx, sys := context.Background(), core.System()
	if _, err := m.Service.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Service.PutUser(ctx, sys, core.User{ID: 1, Email: "ann@acme.example", Name: "Ann", Role: core.RoleCustomer, AccountIDs: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	_, apiKey, err := m.Service.CreateAPIKey(ctx, sys, 1)
	if err != nil {
		t.Fatal(err)
	}
	create := func() (int, string, string) {
		req, _ := http.NewRequest("POST", "http://"+m.Addr()+"/api/Ticket?accountId=1", strings.NewReader(`{"subject":"Once","description":"only once"}`))
		req.Header.Set("X-API-Key", apiKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Idempotent-Replayed"), string(body)
	}
	s1, r1, b1 := create()
	s2, r2, b2 := create()
	if s1 != 201 || r1 != "" || s2 != 201 || r2 != "true" || b1 != b2 {
		t.Fatalf("%d %q %s; %d %q %s", s1, r1, b1, s2, r2, b2)
	}

	// A row expired an hour ago goes at the next sweep; the fresh one stays.
	past := time.Now().Add(-25 * time.Hour)
	old := core.IdempotencyRecord{Owner: 1, Key: "old", Token: "t", Fingerprint: "f", LockedUntil: past.Add(time.Minute), ExpiresAt: past.Add(24 * time.Hour)}
	if _, held, err := m.DB.ReserveIdempotencyKey(ctx, old, past); err != nil || !held {
		t.Fatalf("reserve: %v %v", held, err)
	}
	sweepCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.sweepIdempotency(sweepCtx) }()
	eventually(t, 5*time.Second, func() error {
		_, err := m.DB.IdempotencyKey(ctx, 1, "old")
		switch {
		case err == nil:
			return errors.New("the expired row is still there")
		case core.ErrorCode(err) != core.ENOTFOUND:
			return err
		}
		return nil
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, err := m.DB.IdempotencyKey(ctx, 1, "8e03978e-40d5-43e8-bc93-6894a57f9324"); err != nil || got.State != core.IdempotencyDone {
		t.Fatalf("the fresh row: %+v %v", got, err)
	}
}

package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// TestWrite_ReadOfATicketWaitsForTheWriteChangingIt: a write that reads a ticket another
// write has read (to change it) waits for that write to commit and then sees its change,
// as it would behind SQLite's single writer.
func TestWrite_ReadOfATicketWaitsForTheWriteChangingIt(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	sys := core.System()
	if _, err := svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.PutUser(ctx, sys, core.User{ID: 1, Email: "ann@example.com", Name: "Ann", AccountIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := svc.CreateTicket(ctx, core.Actor{User: u, Channel: core.ChannelAPI}, core.NewTicket{AccountID: 1, Subject: "Down", Description: "x"})
	if err != nil {
		t.Fatal(err)
	}
	// waiting counts the connections blocked on a lock.
	waiting := func() int {
		var n int
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Error(err)
		}
		return n
	}
	holding := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.Write(ctx, func(tx core.Tx) error {
			if _, err := tx.Ticket(ctx, tk.ID); err != nil {
				return err
			}
			if err := tx.SetTicketStatus(ctx, tk.ID, core.StatusClosed, tk.UpdatedAt); err != nil {
				return err
			}
			select {
			case holding <- struct{}{}:
			default: // a second run of fn: the other write is waiting already
			}
			// Commit only once the other write waits for this one.
			for range 500 {
				if waiting() > 0 {
					return nil
				}
				time.Sleep(20 * time.Millisecond)
			}
			return errors.New("the other write's read of the ticket did not wait for this write")
		})
	}()
	<-holding
	var seen core.Status
	err = db.Write(ctx, func(tx core.Tx) error {
		got, err := tx.Ticket(ctx, tk.ID)
		if err == nil {
			seen = got.Status
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if seen != core.StatusClosed {
		t.Fatalf("the second write read status %v, want the first write's %v", seen, core.StatusClosed)
	}
}

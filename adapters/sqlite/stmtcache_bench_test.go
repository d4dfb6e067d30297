package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// go test -run XXX -bench StmtCache ./adapters/sqlite/ compares the statement caches with
// running every statement unprepared (the caches closed: lookups then find nothing).
func BenchmarkStmtCache(b *testing.B) {
	for _, cached := range []bool{true, false} {
		name := map[bool]string{true: "cached", false: "unprepared"}[cached]
		b.Run("detail/"+name, func(b *testing.B) {
			ctx := context.Background()
			db, id := benchStmtDB(b, cached)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := db.Read(ctx, func(tx core.ReadTx) error {
						if _, err := tx.Ticket(ctx, id); err != nil {
							return err
						}
						if _, err := tx.Messages(ctx, id, false); err != nil {
							return err
						}
						_, err := tx.TicketEvents(ctx, id)
						return err
					})
					if err != nil {
						b.Error(err)
					}
				}
			})
		})
		b.Run("create/"+name, func(b *testing.B) {
			ctx := context.Background()
			db, _ := benchStmtDB(b, cached)
			b.SetParallelism(16) // 32 writers on 2 cores: batches as under load
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := db.Write(ctx, func(tx core.Tx) error { return benchCreate(ctx, tx) }); err != nil {
						b.Error(err)
					}
				}
			})
		})
	}
}

// benchStmtDB opens a database (synchronous=normal: the statements are measured, not the
// disk) with one ticket, and closes the caches unless cached.
func benchStmtDB(b *testing.B, cached bool) (*DB, int64) {
	b.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "helpdeskd.db"), Options{Synchronous: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if !cached {
		db.rstmts.close()
		db.wstmts.close()
	}
	var id int64
	err = db.Write(ctx, func(tx core.Tx) error {
		if err := tx.PutAccount(ctx, &core.Account{ID: 1, Name: "a"}); err != nil {
			return err
		}
		if err := tx.PutUser(ctx, &core.User{ID: 1, Email: "c@a.test", Name: "C", Role: core.RoleCustomer, AccountIDs: []int64{1}}); err != nil {
			return err
		}
		return benchCreate(ctx, tx)
	})
	if err != nil {
		b.Fatal(err)
	}
	err = db.Read(ctx, func(tx core.ReadTx) error {
		list, _, err := tx.Tickets(ctx, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 1}})
		if err == nil {
			id = list[0].ID
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return db, id
}

// benchCreate writes what a ticket create writes: the ticket, its first message and its
// history line.
func benchCreate(ctx context.Context, tx core.Tx) error {
	now := time.Now()
	t := &core.Ticket{AccountID: 1, UserID: 1, Subject: "Site is slow", Description: "Every page takes seconds.",
		Topic: 5, Channel: core.ChannelAPI, CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateTicket(ctx, t); err != nil {
		return err
	}
	m := &core.Message{TicketID: t.ID, AuthorUserID: 1, Author: core.AuthorCustomer, Channel: core.ChannelAPI, Body: t.Description, CreatedAt: now}
	if err := tx.CreateMessage(ctx, m); err != nil {
		return err
	}
	return tx.AddTicketEvent(ctx, &core.TicketEvent{TicketID: t.ID, At: now, ActorUserID: 1, Kind: core.KindCreated, To: t.Status})
}

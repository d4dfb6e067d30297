package sqlitetest_test

import (
	"context"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/core"
)

func TestFill_MakesAUsableDesk(t *testing.T) {
	db := sqlitetest.Open(t)
	ctx := context.Background()
	if err := sqlitetest.Fill(ctx, db, sqlitetest.FillSpec{Accounts: 10, Properties: 2, Tickets: 1000}); err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	var u *core.User
	db.Read(ctx, func(tx core.ReadTx) (err error) { u, err = tx.UserByEmail(ctx, "a3@bench.example"); return })
	actor := core.Actor{User: u, Channel: core.ChannelAPI}
	list, total, err := svc.ListTickets(ctx, actor, core.TicketFilter{AccountID: 3})
	if err != nil || total != 100 || len(list) != 20 {
		t.Fatalf("list: %v, total %d, %d items", err, total, len(list))
	}
	d, err := svc.GetTicket(ctx, actor, core.TicketRef{ID: list[0].ID, AccountID: 3})
	if err != nil || len(d.Messages) != 1 {
		t.Fatalf("detail: %v", err)
	}
	// New tickets continue after the filled ones.
	tk, err := svc.CreateTicket(ctx, actor, core.NewTicket{AccountID: 3, Subject: "s", Description: "d"})
	if err != nil || tk.ID != 1001 {
		t.Fatalf("create after fill: %v, id %v", err, tk)
	}
}

package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/core"

	_ "modernc.org/sqlite"
)

// fixture is a desk with two accounts: Ann (customer of 1, with Telegram), Bob (customer
// of 2), Sam (staff), and one property per account.
type fixture struct {
	db            *sqlite.DB
	svc           *core.Service
	ann, bob, sam core.Actor
}

func newFixture(t *testing.T, opts core.Options) *fixture {
	t.Helper()
	db := sqlitetest.Open(t)
	svc := core.NewService(db, db.Blobs(), nil, opts)
	f := &fixture{db: db, svc: svc}
	sys := core.System()
	mustAccount(t, svc, 1)
	mustAccount(t, svc, 2)
	for _, p := range []core.Property{{ID: 10, AccountID: 1, Name: "ann.example"}, {ID: 20, AccountID: 2, Name: "bob.example"}} {
		if _, err := svc.PutProperty(ctx, sys, p); err != nil {
			t.Fatal(err)
		}
	}
	put := func(u core.User) core.Actor {
		got, err := svc.PutUser(ctx, sys, u)
		if err != nil {
			t.Fatal(err)
		}
		return core.Actor{User: got, Channel: core.ChannelAPI}
	}
	f.ann = put(core.User{ID: 100, Email: "ann@example.com", Name: "Ann", AccountIDs: []int64{1}})
	f.bob = put(core.User{ID: 200, Email: "bob@example.com", Name: "Bob", AccountIDs: []int64{2}})
	f.sam = put(core.User{ID: 900, Email: "sam@desk.example", Name: "Sam", Role: core.RoleStaff})
	// Link Ann's Telegram the way the Telegram gateway will: directly in the database.
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE users SET telegram_id = 4242 WHERE id = 100`); err != nil {
		t.Fatal(err)
	}
	f.ann.User.TelegramID = 4242
	return f
}

type row struct {
	event, channel, recipient string
}

func (f *fixture) outbox(t *testing.T, ticketID int64) []row {
	t.Helper()
	raw, err := sql.Open("sqlite", f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT event, channel, recipient FROM notifications WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.event, &r.channel, &r.recipient); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].event+out[i].channel+out[i].recipient < out[j].event+out[j].channel+out[j].recipient
	})
	return out
}

var notifyAll = core.Options{Notify: core.NotifyOptions{Email: true, Telegram: true,
	StaffEmails: []string{"desk@desk.example"}, StaffChatID: -100}}

func TestCreateTicket_QueuesConfirmationAndStaffAlert(t *testing.T) {
	f := newFixture(t, notifyAll)
	tk, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: " Hi ", Description: "Help", PropertyID: 10, Topic: core.TopicSSL})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Subject != "Hi" || tk.Status != core.StatusOpen || tk.PropertyName != "ann.example" {
		t.Fatalf("ticket %+v", tk)
	}
	want := []row{
		{"new_ticket", "email", "desk@desk.example"},
		{"new_ticket", "telegram", "-100"},
		{"ticket_created", "email", "ann@example.com"},
		{"ticket_created", "telegram", "4242"},
	}
	if got := f.outbox(t, tk.ID); !equalRows(got, want) {
		t.Fatalf("outbox\n got %v\nwant %v", got, want)
	}
}

func TestNotifications_PerEvent(t *testing.T) {
	tests := []struct {
		name string
		act  func(f *fixture, id int64) error
		want []row
	}{
		{"customer reply alerts staff", func(f *fixture, id int64) error {
			_, _, err := f.svc.Reply(ctx, f.ann, core.TicketRef{ID: id}, core.NewReply{Body: "more"})
			return err
		}, []row{{"customer_reply", "email", "desk@desk.example"}, {"customer_reply", "telegram", "-100"}}},
		{"staff reply notifies the customer", func(f *fixture, id int64) error {
			_, _, err := f.svc.Reply(ctx, f.sam, core.TicketRef{ID: id}, core.NewReply{Body: "answer"})
			return err
		}, []row{{"staff_reply", "email", "ann@example.com"}, {"staff_reply", "telegram", "4242"}}},
		{"internal note notifies nobody", func(f *fixture, id int64) error {
			_, _, err := f.svc.Reply(ctx, f.sam, core.TicketRef{ID: id}, core.NewReply{Body: "note", Internal: true})
			return err
		}, nil},
		{"staff resolving notifies the customer", func(f *fixture, id int64) error {
			_, err := f.svc.SetStatus(ctx, f.sam, core.TicketRef{ID: id}, core.StatusResolved)
			return err
		}, []row{{"status_changed", "email", "ann@example.com"}, {"status_changed", "telegram", "4242"}}},
		{"customer closing their own ticket is not echoed to them", func(f *fixture, id int64) error {
			_, err := f.svc.Close(ctx, f.ann, core.TicketRef{ID: id})
			return err
		}, nil},
		{"a Telegram reply is not echoed to Telegram", func(f *fixture, id int64) error {
			tg := core.Actor{User: f.ann.User, Channel: core.ChannelTelegram}
			_, _, err := f.svc.Reply(ctx, tg, core.TicketRef{ID: id}, core.NewReply{Body: "from chat"})
			return err
		}, []row{{"customer_reply", "email", "desk@desk.example"}, {"customer_reply", "telegram", "-100"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, notifyAll)
			tk, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "s", Description: "d"})
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.act(f, tk.ID); err != nil {
				t.Fatal(err)
			}
			var got []row
			for _, r := range f.outbox(t, tk.ID) {
				if r.event != "ticket_created" && r.event != "new_ticket" {
					got = append(got, r)
				}
			}
			if !equalRows(got, tt.want) {
				t.Fatalf("outbox\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestNotifications_TelegramOriginSkipsTelegramConfirmation(t *testing.T) {
	f := newFixture(t, notifyAll)
	tg := core.Actor{User: f.ann.User, Channel: core.ChannelTelegram}
	tk, err := f.svc.CreateTicket(ctx, tg, core.NewTicket{AccountID: 1, Subject: "s", Description: "d"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.outbox(t, tk.ID) {
		if r.event == "ticket_created" && r.channel == "telegram" {
			t.Fatalf("bot conversation got a duplicate confirmation: %v", r)
		}
	}
}

func TestNotifications_DisabledChannelsQueueNothing(t *testing.T) {
	f := newFixture(t, core.Options{})
	tk, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "s", Description: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.outbox(t, tk.ID); len(got) != 0 {
		t.Fatalf("outbox with notifications off: %v", got)
	}
}

func TestIsolation_AnotherAccountsTicketIsNotFound(t *testing.T) {
	f := newFixture(t, core.Options{})
	ref, err := f.svc.StageFile(ctx, "a.txt", "text/plain", strings.NewReader("secret"))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "s", Description: "d", Files: []core.FileRef{ref}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.GetTicket(ctx, f.ann, core.TicketRef{ID: tk.ID, AccountID: 1})
	if err != nil {
		t.Fatal(err)
	}
	attID := d.Messages[0].Attachments[0].ID

	checks := map[string]error{}
	_, checks["get, own account id"] = f.svc.GetTicket(ctx, f.bob, core.TicketRef{ID: tk.ID, AccountID: 2})
	_, checks["get, unscoped"] = f.svc.GetTicket(ctx, f.bob, core.TicketRef{ID: tk.ID})
	_, _, checks["reply"] = f.svc.Reply(ctx, f.bob, core.TicketRef{ID: tk.ID, AccountID: 2}, core.NewReply{Body: "x"})
	_, checks["close"] = f.svc.Close(ctx, f.bob, core.TicketRef{ID: tk.ID, AccountID: 2})
	_, _, checks["attachment"] = f.svc.OpenAttachment(ctx, f.bob, core.TicketRef{ID: tk.ID, AccountID: 2}, attID)
	_, _, checks["attachment via own ticket"] = func() (*core.Attachment, any, error) {
		own, err := f.svc.CreateTicket(ctx, f.bob, core.NewTicket{AccountID: 2, Subject: "s", Description: "d"})
		if err != nil {
			return nil, nil, err
		}
		a, rc, err := f.svc.OpenAttachment(ctx, f.bob, core.TicketRef{ID: own.ID, AccountID: 2}, attID)
		if rc != nil {
			rc.Close()
		}
		return a, nil, err
	}()
	for name, err := range checks {
		if core.ErrorCode(err) != core.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", name, err)
		}
	}
	// Naming Ann's account is forbidden outright.
	if _, err := f.svc.GetTicket(ctx, f.bob, core.TicketRef{ID: tk.ID, AccountID: 1}); core.ErrorCode(err) != core.EFORBIDDEN {
		t.Errorf("foreign accountId: %v, want EFORBIDDEN", err)
	}
	if _, err := f.svc.Properties(ctx, f.bob, 1); core.ErrorCode(err) != core.EFORBIDDEN {
		t.Errorf("foreign properties: %v, want EFORBIDDEN", err)
	}
	if _, err := f.svc.CreateTicket(ctx, f.bob, core.NewTicket{AccountID: 2, Subject: "s", Description: "d", PropertyID: 10}); core.ErrorCode(err) != core.EINVALID || core.ErrorMessage(err) != "Invalid property" {
		t.Errorf("foreign property: %v, want Invalid property", err)
	}
	// Staff see everything.
	if _, err := f.svc.GetTicket(ctx, f.sam, core.TicketRef{ID: tk.ID, AccountID: 1}); err != nil {
		t.Errorf("staff: %v", err)
	}
}

func TestReply_ToResolvedReopensAndIsRecorded(t *testing.T) {
	f := newFixture(t, core.Options{})
	tk, _ := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "s", Description: "d"})
	if _, err := f.svc.SetStatus(ctx, f.sam, core.TicketRef{ID: tk.ID}, core.StatusResolved); err != nil {
		t.Fatal(err)
	}
	_, got, err := f.svc.Reply(ctx, f.ann, core.TicketRef{ID: tk.ID, AccountID: 1}, core.NewReply{Body: "still broken"})
	if err != nil || got.Status != core.StatusOpen {
		t.Fatalf("reply: %v, status %v", err, got)
	}
	d, err := f.svc.GetTicket(ctx, f.ann, core.TicketRef{ID: tk.ID, AccountID: 1})
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range d.History {
		trail = append(trail, string(e.Kind)+":"+e.From.String()+">"+e.To.String())
	}
	want := "created:Open>Open status:Open>Resolved status:Resolved>Open"
	if strings.Join(trail, " ") != want {
		t.Fatalf("history %q, want %q", strings.Join(trail, " "), want)
	}
	if d.History[1].ActorUserID != f.sam.User.ID || d.History[2].ActorUserID != f.ann.User.ID {
		t.Fatalf("history actors: %+v", d.History)
	}
}

func TestInternalNote_InvisibleToCustomer(t *testing.T) {
	f := newFixture(t, core.Options{})
	tk, _ := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "s", Description: "d"})
	if _, _, err := f.svc.Reply(ctx, f.sam, core.TicketRef{ID: tk.ID}, core.NewReply{Body: "customer is wrong", Internal: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Reply(ctx, f.ann, core.TicketRef{ID: tk.ID}, core.NewReply{Body: "x", Internal: true}); core.ErrorCode(err) != core.EFORBIDDEN {
		t.Fatalf("customer note: %v", err)
	}
	d, _ := f.svc.GetTicket(ctx, f.ann, core.TicketRef{ID: tk.ID, AccountID: 1})
	if len(d.Messages) != 1 || d.Ticket.MessageCount != 1 {
		t.Fatalf("customer sees %d messages, count %d", len(d.Messages), d.Ticket.MessageCount)
	}
	list, _, _ := f.svc.ListTickets(ctx, f.ann, core.TicketFilter{AccountID: 1})
	if list[0].MessageCount != 1 {
		t.Fatalf("list count %d", list[0].MessageCount)
	}
	d, _ = f.svc.GetTicket(ctx, f.sam, core.TicketRef{ID: tk.ID})
	if len(d.Messages) != 2 || d.Ticket.MessageCount != 2 {
		t.Fatalf("staff sees %d messages, count %d", len(d.Messages), d.Ticket.MessageCount)
	}
}

func TestProvisioning_IsIdempotentAndKeepsPanelIDs(t *testing.T) {
	f := newFixture(t, core.Options{})
	sys := core.System()
	for i := 0; i < 2; i++ {
		u, err := f.svc.PutUser(ctx, sys, core.User{ID: 100, Email: "ANN@example.com", Name: "Ann B", AccountIDs: []int64{2, 1, 2}})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != 100 || u.Name != "Ann B" || len(u.AccountIDs) != 2 || u.AccountIDs[0] != 1 || u.TelegramID != 4242 {
			t.Fatalf("user after put #%d: %+v", i+1, u)
		}
	}
	if _, err := f.svc.PutUser(ctx, sys, core.User{ID: 101, Email: "ann@example.com", Name: "Imposter"}); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := f.svc.PutUser(ctx, sys, core.User{ID: 102, Email: "c@example.com", Name: "C", AccountIDs: []int64{77}}); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("missing account: %v", err)
	}
	if _, err := f.svc.PutAccount(ctx, f.ann, core.Account{ID: 3, Name: "x"}); core.ErrorCode(err) != core.EFORBIDDEN {
		t.Fatalf("customer provisioning: %v", err)
	}
}

func TestAPIKey_RevokedStopsAtOnce(t *testing.T) {
	f := newFixture(t, core.Options{})
	k, key, err := f.svc.CreateAPIKey(ctx, core.System(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, core.APIKeyPrefix) || strings.Contains(k.Hash, key) {
		t.Fatalf("key %q hash %q", key, k.Hash)
	}
	u, err := f.svc.Authenticate(ctx, key)
	if err != nil || u.ID != 100 {
		t.Fatalf("authenticate: %v %v", u, err)
	}
	if err := f.svc.DeleteAPIKey(ctx, core.System(), 100, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, key); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("revoked key: %v", err)
	}
	if err := f.svc.DeleteAPIKey(ctx, core.System(), 100, k.ID); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("double revoke: %v", err)
	}
}

func TestReopen_EveryCommittedTicketIsThere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	mustAccount(t, svc, 1)
	u, err := svc.PutUser(ctx, core.System(), core.User{ID: 1, Email: "a@example.com", Name: "A", AccountIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	actor := core.Actor{User: u, Channel: core.ChannelAPI}
	var ids []int64
	for i := 0; i < 20; i++ {
		tk, err := svc.CreateTicket(ctx, actor, core.NewTicket{AccountID: 1, Subject: "s", Description: "d"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc = core.NewService(db, db.Blobs(), nil, core.Options{})
	list, total, err := svc.ListTickets(context.Background(), actor, core.TicketFilter{AccountID: 1, Page: core.Page{Size: 100}})
	if err != nil || total != len(ids) || len(list) != len(ids) || list[0].ID != ids[len(ids)-1] {
		t.Fatalf("after reopen: total %d, %d listed, err %v", total, len(list), err)
	}
}

func equalRows(a, b []row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func TestTelegramLink_OneTimeAndExpiring(t *testing.T) {
	db := sqlitetest.Open(t)
	clock := &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	svc := core.NewService(db, db.Blobs(), clock, core.Options{})
	mustAccount(t, svc, 1)
	u, err := svc.PutUser(ctx, core.System(), core.User{ID: 1, Email: "a@example.com", Name: "A", AccountIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	actor := core.Actor{User: u, Channel: core.ChannelAPI}

	code, expires, err := svc.CreateTelegramLink(ctx, actor)
	if err != nil || !expires.Equal(clock.t.Add(core.TelegramLinkTTL)) {
		t.Fatalf("create: %v, expires %v", err, expires)
	}
	linked, err := svc.LinkTelegram(ctx, code, 777)
	if err != nil || linked.ID != 1 || linked.TelegramID != 777 {
		t.Fatalf("first use: %+v %v", linked, err)
	}
	if _, err := svc.LinkTelegram(ctx, code, 888); err == nil {
		t.Fatal("a code worked twice")
	}

	late, _, err := svc.CreateTelegramLink(ctx, actor)
	if err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(core.TelegramLinkTTL + time.Second)
	if _, err := svc.LinkTelegram(ctx, late, 999); err == nil {
		t.Fatal("an expired code worked")
	}
	if got, err := svc.UserByTelegram(ctx, 999); err == nil {
		t.Fatalf("expired code linked %+v", got)
	}
}

func TestSplit_PendingNotificationsFollowTheirMessage(t *testing.T) {
	f := newFixture(t, notifyAll)
	tk, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "two problems", Description: "first"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := f.svc.Reply(ctx, f.ann, core.TicketRef{ID: tk.ID}, core.NewReply{Body: "and a second one"})
	if err != nil {
		t.Fatal(err)
	}
	split, err := f.svc.SplitTicket(ctx, f.sam, tk.ID, m.ID, "second problem")
	if err != nil {
		t.Fatal(err)
	}
	moved := f.outbox(t, split.ID)
	want := []row{{"customer_reply", "email", "desk@desk.example"}, {"customer_reply", "telegram", "-100"}}
	if !equalRows(moved, want) {
		t.Fatalf("notifications of the split ticket: %v, want %v", moved, want)
	}
	for _, r := range f.outbox(t, tk.ID) {
		if r.event == "customer_reply" {
			t.Fatalf("a notification about the moved message stayed with the old ticket: %v", r)
		}
	}
}

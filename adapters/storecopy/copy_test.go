package storecopy_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
	"github.com/helpdeskd/helpdeskd/adapters/storecopy"
	"github.com/helpdeskd/helpdeskd/adapters/telegram"
	"github.com/helpdeskd/helpdeskd/adapters/webhook"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// store is what the tests ask of either adapter.
type store interface {
	core.Store
	core.DeliveryLog
	gateway.InboundStore
	gateway.Outbox
	telegram.Store
	telegram.TopicStore
	webhook.Store
	Blobs() core.Blobs
	Close() error
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

func notify() core.Options {
	return core.Options{Notify: core.NotifyOptions{Email: true, Telegram: true, StaffEmails: []string{"desk@example.com"}, StaffChatID: 777}}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// desk's users, by ID.
const (
	custA = 10 // account 1
	custB = 11 // accounts 1 and 2
	staff = 20
	admin = 21
)

func actor(t *testing.T, ctx context.Context, db core.Store, id int64, ch core.Channel) core.Actor {
	t.Helper()
	var u *core.User
	check(t, "user", db.Read(ctx, func(tx core.ReadTx) error {
		var err error
		u, err = tx.User(ctx, id)
		return err
	}))
	return core.Actor{User: u, Channel: ch}
}

// build fills db through the use cases with every kind of row.
func build(t *testing.T, db store) {
	ctx := context.Background()
	svc := core.NewService(db, db.Blobs(), nil, notify())
	sys := core.System()
	for _, a := range []core.Account{{ID: 1, Name: "Acme"}, {ID: 2, Name: "Globex"}} {
		must[*core.Account](t, "account")(svc.PutAccount(ctx, sys, a))
	}
	for _, u := range []core.User{
		{ID: custA, Email: "Ann@Example.com", Name: "Ann", Role: core.RoleCustomer, AccountIDs: []int64{1}, Language: "es"},
		{ID: custB, Email: "bob@example.com", Name: "Bob", Role: core.RoleCustomer, AccountIDs: []int64{1, 2}, DefaultAccountID: 2},
		{ID: staff, Email: "sue@desk.example", Name: "Sue", Role: core.RoleStaff},
		{ID: admin, Email: "root@desk.example", Name: "Root", Role: core.RoleAdmin, Language: "pt-BR"},
	} {
		must[*core.User](t, "user")(svc.PutUser(ctx, sys, u))
	}
	must[*core.Property](t, "property")(svc.PutProperty(ctx, sys, core.Property{ID: 100, AccountID: 1, Name: "acme.example"}))
	must[*core.Property](t, "property")(svc.PutProperty(ctx, sys, core.Property{ID: 200, AccountID: 2, Name: "globex.example"}))
	must[*core.Department](t, "department")(svc.PutDepartment(ctx, sys, core.Department{ID: 5, Name: "tech-support"}))
	must[*core.Department](t, "department")(svc.PutDepartment(ctx, sys, core.Department{ID: 6, Name: "billing"}))
	// Three keys, the newest (3) deleted: its ID must never be given again.
	_, _, err := svc.CreateAPIKey(ctx, sys, custA)
	check(t, "api key", err)
	_, _, err = svc.CreateAPIKey(ctx, sys, staff)
	check(t, "api key", err)
	k3, _, err := svc.CreateAPIKey(ctx, sys, custA)
	check(t, "api key", err)
	check(t, "delete key", svc.DeleteAPIKey(ctx, sys, custA, k3.ID))

	// Webhooks, before the tickets: each change of their types queues a delivery.
	adm := actor(t, ctx, db, admin, core.ChannelAPI)
	hook := must[*core.Webhook](t, "webhook")(svc.CreateWebhook(ctx, adm, core.NewWebhook{URL: "https://panel.example/hooks",
		Events: []core.ChangeType{core.ChangeTicketCreated, core.ChangeMessageCreated, core.ChangeNotificationFailed}}, false))
	other := must[*core.Webhook](t, "webhook")(svc.CreateWebhook(ctx, adm, core.NewWebhook{URL: "https://other.example/x",
		Events: []core.ChangeType{core.ChangeTicketStatusChanged}}, false))

	a := actor(t, ctx, db, custA, core.ChannelAPI)
	b := actor(t, ctx, db, custB, core.ChannelAPI)
	s := actor(t, ctx, db, staff, core.ChannelAPI)
	file := func(name, body string) core.FileRef {
		return must[core.FileRef](t, "stage")(svc.StageFile(ctx, name, "text/plain", strings.NewReader(body)))
	}
	t1 := must[*core.Ticket](t, "ticket")(svc.CreateTicket(ctx, a, core.NewTicket{AccountID: 1, Subject: "Printer on fire",
		Description: "The printer in room 12 smokes", Topic: 1, PropertyID: 100, Files: []core.FileRef{file("log.txt", "smoke detected\n")}}))
	t2 := must[*core.Ticket](t, "ticket")(svc.CreateTicket(ctx, a, core.NewTicket{AccountID: 1, Subject: "Invoice question",
		Description: "Why is the invoice twice the quote?", Topic: 2, ServiceType: "hosting"}))
	t3 := must[*core.Ticket](t, "ticket")(svc.CreateTicket(ctx, b, core.NewTicket{AccountID: 2, Subject: "DNS zone",
		Description: "Please add an MX record for globex.example", Topic: 3, PropertyID: 200, DepartmentID: 5}))
	t4 := must[*core.Ticket](t, "ticket")(svc.CreateTicket(ctx, b, core.NewTicket{AccountID: 1, Subject: "Duplicate of the printer",
		Description: "Same printer, still smoking", Topic: 1}))
	// A mailed ticket with its raw mail kept, as the mail gateway keeps it: on SQLite in the
	// database, written with its inbound record (sqlite.RawMails).
	raws := db.Blobs()
	if r, ok := db.(interface{ RawMails() core.Blobs }); ok {
		raws = r.RawMails()
	}
	rawHash, _, err := raws.Put(ctx, strings.NewReader("From: ann@example.com\r\nSubject: Mailbox full\r\n\r\nmy quota is gone\r\n"), 1<<20)
	check(t, "raw mail", err)
	am := actor(t, ctx, db, custA, core.ChannelEmail)
	t5 := must[*core.Ticket](t, "ticket")(svc.CreateTicket(ctx, am, core.NewTicket{AccountID: 1, Subject: "Mailbox full",
		Description: "my quota is gone", Topic: 0, Unverified: true,
		Source: &core.Source{Channel: core.ChannelEmail, Key: "<m1@example.com>", RawHash: rawHash}}))
	if d, ok := raws.(interface{ Done(string) }); ok {
		d.Done(rawHash)
	}

	// Replies: public with a file, a mail reply with its full text, an internal note, a
	// staff answer; one hidden, one edited.
	r1, _, err := svc.Reply(ctx, a, core.TicketRef{ID: t1.ID}, core.NewReply{Body: "Photo attached", Files: []core.FileRef{file("photo.jpg", strings.Repeat("jpeg", 50000))}})
	check(t, "reply", err)
	_, _, err = svc.Reply(ctx, am, core.TicketRef{ID: t1.ID}, core.NewReply{Body: "Still burning", FullBody: "Still burning\n> Photo attached"})
	check(t, "mail reply", err)
	note := must[*core.Message](t, "note")(svc.StaffReply(ctx, s, t1.ID, core.NewReply{Body: "internal: call the fire brigade", Internal: true}))
	ans := must[*core.Message](t, "answer")(svc.StaffReply(ctx, s, t1.ID, core.NewReply{Body: "We are on it, extinguisher on the way"}))
	must[*core.Message](t, "hide")(svc.SetMessageHidden(ctx, s, t1.ID, r1.ID, true))
	must[*core.Message](t, "edit")(svc.EditMessage(ctx, s, t1.ID, ans.ID, "We are on it: extinguisher on the way"))
	_ = note
	// Staff side.
	must[*core.QueueItem](t, "assign")(svc.Assign(ctx, s, t1.ID, staff, 5))
	must[*core.QueueItem](t, "deadline")(svc.SetDeadline(ctx, s, t2.ID, time.Now().Add(48*time.Hour)))
	must[*core.QueueItem](t, "favourite")(svc.SetFavourite(ctx, s, t1.ID, true))
	must[*core.QueueItem](t, "read")(svc.SetRead(ctx, s, t1.ID, true))
	must[*core.Ticket](t, "merge")(svc.MergeTickets(ctx, s, t4.ID, t1.ID))
	must[*core.Ticket](t, "split")(svc.SplitTicket(ctx, s, t1.ID, ans.ID, "Extinguisher delivery"))
	must[*core.Ticket](t, "close")(svc.Close(ctx, b, core.TicketRef{ID: t3.ID}))
	must[*core.Ticket](t, "archive")(svc.Archive(ctx, b, core.TicketRef{ID: t3.ID}, true))
	must[*core.Ticket](t, "status")(svc.SetStatus(ctx, s, core.TicketRef{ID: t5.ID}, core.StatusInProgress))
	// Canned replies (and their audit lines): one with a status, one changed, one used.
	resolved := core.StatusResolved
	cr := must[*core.CannedReply](t, "canned")(svc.CreateCannedReply(ctx, s, core.NewCannedReply{Name: "solved",
		Body: "Hi {{customer.name}}, #{{ticket.id}} is solved.", Status: &resolved}))
	must[*core.CannedReply](t, "canned")(svc.CreateCannedReply(ctx, s, core.NewCannedReply{Name: "wait", Body: "One moment."}))
	must[*core.CannedReply](t, "canned")(svc.UpdateCannedReply(ctx, s, cr.ID, core.NewCannedReply{Name: "solved",
		Body: "Hello {{customer.name}}, #{{ticket.id}} is solved.", Status: &resolved}))
	must[*core.Message](t, "canned reply")(svc.StaffReply(ctx, s, t2.ID, core.NewReply{CannedReplyID: cr.ID}))
	// Auto-close: the reminder of t2's Resolved period recorded, as the job does.
	remindedAt := time.Now().UTC().Truncate(time.Second)
	check(t, "auto-close mark", db.Write(ctx, func(tx core.Tx) error {
		_, err := tx.MarkAutoClose(ctx, t2.ID, core.AutoCloseRemind, remindedAt.Add(-time.Minute), remindedAt)
		return err
	}))

	// SLA: t5 running (its first response met), t2 paused with a breach, and the fingerprint.
	slaAt := time.Now().UTC().Truncate(time.Second)
	check(t, "sla", db.Write(ctx, func(tx core.Tx) error {
		if err := tx.PutTicketSLA(ctx, &core.TicketSLA{TicketID: t5.ID, Policy: "default", Calendar: "office", Created: slaAt,
			FirstResponseDue: slaAt.Add(4 * time.Hour), FirstResponseAt: slaAt.Add(time.Hour), FirstResponseWarned: true,
			ResolutionDue: slaAt.Add(40 * time.Hour)}); err != nil {
			return err
		}
		if err := tx.PutTicketSLA(ctx, &core.TicketSLA{TicketID: t2.ID, Policy: "topic=3", Calendar: "office", Created: slaAt,
			FirstResponseDue: slaAt.Add(time.Hour), FirstResponseBreached: true, ResolutionDue: slaAt.Add(8 * time.Hour),
			PausedAt: slaAt.Add(2 * time.Hour), Paused: 90 * time.Minute}); err != nil {
			return err
		}
		return tx.SetSLAFingerprint(ctx, "0123abcd")
	}))

	// Telegram: a linked user, an unused code, an update, a dialogue, a bot message, a
	// closed topic in the staff chat.
	code, _, err := svc.CreateTelegramLink(ctx, a)
	check(t, "link code", err)
	must[*core.User](t, "link")(svc.LinkTelegram(ctx, code, 555))
	_, _, err = svc.CreateTelegramLink(ctx, b)
	check(t, "second link code", err)
	check(t, "update", db.FinishTelegramUpdate(ctx, 1000, 555, `{"step":"new","subject":"help"}`, time.Hour))
	check(t, "update", db.FinishTelegramUpdate(ctx, 1001, 0, "", time.Hour))
	check(t, "bot message", db.RememberTelegramMessage(ctx, 555, 42, t1.ID))
	_, err = db.AddTelegramTopic(ctx, 777, t1.ID, 99)
	check(t, "staff chat topic", err)
	check(t, "staff chat topic closed", db.SetTelegramTopicClosed(ctx, 777, t1.ID, 99, true))

	// Notifications in every state.
	pending := must[[]core.Notification](t, "notifications")(svc.Notifications(ctx, s, core.NotificationPending, 100))
	if len(pending) < 6 {
		t.Fatalf("only %d notifications queued", len(pending))
	}
	now := time.Now()
	check(t, "ref", db.SetMessageRef(ctx, pending[0].ID, "<n1@desk.example>"))
	check(t, "sent", db.MarkSent(ctx, pending[0].ID, 1, now))
	check(t, "retry", db.MarkRetry(ctx, pending[1].ID, 2, now.Add(time.Hour), "421 try later"))
	check(t, "failed", db.MarkFailed(ctx, pending[2].ID, 5, "550 no such user"))
	check(t, "ref", db.SetMessageRef(ctx, pending[3].ID, "<n4@desk.example>"))
	check(t, "sent", db.MarkSent(ctx, pending[3].ID, 1, now))
	bounceRaw, _, err := db.Blobs().Put(ctx, strings.NewReader("Subject: Undelivered\r\n\r\nbounce\r\n"), 1<<20)
	check(t, "bounce raw", err)
	check(t, "bounce", db.MarkBounced(ctx, pending[3].ID, "mailbox unavailable", core.InboundRecord{Channel: core.ChannelEmail,
		Key: "<bounce1@mx.example>", Result: core.InboundBounce, RawHash: bounceRaw, Sender: "mailer-daemon@mx.example",
		Subject: "Undelivered", Reason: "bounce", At: now}))
	// A rejected mail, raw mail kept.
	rejRaw, _, err := db.Blobs().Put(ctx, strings.NewReader("From: spam@bad.example\r\nSubject: Buy now\r\n\r\ncheap\r\n"), 1<<20)
	check(t, "rejected raw", err)
	check(t, "reject", db.Reject(ctx, core.InboundRecord{Channel: core.ChannelEmail, Key: "<spam1@bad.example>",
		Result: core.InboundRejected, RawHash: rejRaw, Sender: "spam@bad.example", Subject: "Buy now", Reason: "unknown sender", At: now}, nil, 3))

	// Webhook deliveries in every state, one webhook failing and one disabled.
	jobs := must[[]core.WebhookJob](t, "due webhooks")(db.DueWebhooks(ctx, now.Add(time.Hour), 3))
	if len(jobs) != 3 {
		t.Fatalf("%d webhook deliveries due, want 3", len(jobs))
	}
	for i, o := range []core.WebhookOutcome{
		{State: core.DeliveryDelivered, Attempts: 1, At: now, LastStatus: 204},
		{State: core.DeliveryPending, Attempts: 2, At: now, Next: now.Add(time.Minute), LastStatus: 500, LastError: "500 Internal Server Error"},
		{State: core.DeliveryFailed, Attempts: 9, At: now, LastError: "connection refused"},
	} {
		o.DeliveryID, o.WebhookID = jobs[i].Delivery.ID, hook.ID
		must[*core.Webhook](t, "webhook outcome")(db.RecordWebhook(ctx, o))
	}
	if did, err := db.DisableWebhook(ctx, other.ID, "failing for 72h"); err != nil || !did {
		t.Fatalf("disable webhook: %v, %v", did, err)
	}
}

// answers is what the API answers over the desk: ticket lists and details as customers
// and as staff, the queue with and without a search, the delivery log, the attachments'
// bytes, the Telegram state.
func answers(t *testing.T, db store, ids []int64) string {
	ctx := context.Background()
	svc := core.NewService(db, db.Blobs(), nil, notify())
	out := map[string]any{}
	add := func(key string, v any, err error) {
		if err != nil {
			v = "error: " + err.Error()
		}
		out[key] = v
	}
	for _, uid := range []int64{custA, custB} {
		u := actor(t, ctx, db, uid, core.ChannelAPI)
		for _, acc := range []int64{1, 2} {
			for _, arch := range []bool{false, true} {
				list, n, err := svc.ListTickets(ctx, u, core.TicketFilter{AccountID: acc, Archived: arch, Page: core.Page{Number: 1, Size: 50}})
				add(fmt.Sprintf("list u%d a%d %v", uid, acc, arch), map[string]any{"list": list, "n": n}, err)
			}
		}
		for _, id := range ids {
			d, err := svc.GetTicket(ctx, u, core.TicketRef{ID: id})
			add(fmt.Sprintf("ticket u%d %d", uid, id), d, err)
			if err == nil {
				for _, m := range d.Messages {
					for _, at := range m.Attachments {
						v, err := openAll(ctx, svc, u, id, at.ID)
						add(fmt.Sprintf("file u%d %d %d", uid, id, at.ID), v, err)
					}
				}
			}
		}
	}
	s := actor(t, ctx, db, staff, core.ChannelAPI)
	for _, search := range []string{"", "printer", "extinguisher", "quota", "globex"} {
		list, n, err := svc.Queue(ctx, s, core.QueueFilter{UserID: staff, Search: search, Page: core.Page{Number: 1, Size: 50}})
		add("queue "+search, map[string]any{"list": list, "n": n}, err)
	}
	canned, err := svc.CannedReplies(ctx, s)
	add("canned replies", canned, err)
	for _, id := range ids {
		d, err := svc.StaffTicket(ctx, s, id)
		add(fmt.Sprintf("staff ticket %d", id), d, err)
		h, err := svc.History(ctx, s, id)
		add(fmt.Sprintf("history %d", id), h, err)
		if d != nil {
			for _, m := range d.Messages {
				r, err := svc.MessageRevisions(ctx, s, id, m.ID)
				add(fmt.Sprintf("revisions %d %d", id, m.ID), r, err)
			}
		}
	}
	for _, st := range []core.NotificationState{core.NotificationPending, core.NotificationSent, core.NotificationFailed, core.NotificationBounced, core.NotificationCanceled} {
		n, err := svc.Notifications(ctx, s, st, 100)
		add("notifications "+string(st), n, err)
	}
	for _, r := range []core.InboundResult{core.InboundTicket, core.InboundReply, core.InboundRejected, core.InboundBounce} {
		n, err := svc.InboundMessages(ctx, s, r, 100)
		add("inbound "+string(r), n, err)
	}
	deps, err := svc.Departments(ctx, s)
	add("departments", deps, err)
	for _, id := range ids {
		var sla *core.TicketSLA
		err := db.Read(ctx, func(tx core.ReadTx) (err error) { sla, err = tx.TicketSLA(ctx, id); return })
		add(fmt.Sprintf("sla of ticket %d", id), sla, err)
	}
	var fingerprint string
	err = db.Read(ctx, func(tx core.ReadTx) (err error) { fingerprint, err = tx.SLAFingerprint(ctx); return })
	add("sla fingerprint", fingerprint, err)
	var quiet []core.QuietTicket
	err = db.Read(ctx, func(tx core.ReadTx) (err error) { quiet, err = tx.QuietTickets(ctx, core.QuietFilter{}); return })
	add("quiet tickets", quiet, err)
	for _, acc := range []int64{1, 2} {
		p, err := svc.Properties(ctx, s, acc)
		add(fmt.Sprintf("properties %d", acc), p, err)
	}
	off, err := db.TelegramOffset(ctx)
	add("tg offset", off, err)
	dl, err := db.TelegramDialogue(ctx, 555)
	add("tg dialogue", dl, err)
	mt, err := db.TelegramMessageTicket(ctx, 555, 42)
	add("tg message", mt, err)
	for _, id := range ids {
		thread, closed, err := db.TelegramTopic(ctx, 777, id)
		add(fmt.Sprintf("tg topic of ticket %d", id), []any{thread, closed}, err)
	}
	tt, err := db.TelegramTopicTicket(ctx, 777, 99)
	add("tg topic ticket", tt, err)
	done, err := db.TelegramUpdateDone(ctx, 1000)
	add("tg update", done, err)
	tu, err := svc.UserByTelegram(ctx, 555)
	add("tg user", tu, err)
	in, err := db.Inbound(ctx, core.ChannelEmail, "<m1@example.com>")
	add("inbound m1", in, err)
	nr, err := db.NotificationByRef(ctx, "<n1@desk.example>")
	add("notification by ref", nr, err)
	// The change log, as staff and as a customer see it; the webhooks with their secrets
	// and deliveries.
	ch, err := svc.Changes(ctx, s, core.ChangeFilter{Limit: core.MaxChangePage})
	add("changes", ch, err)
	ch, err = svc.Changes(ctx, actor(t, ctx, db, custA, core.ChannelAPI), core.ChangeFilter{AccountID: 1, Limit: core.MaxChangePage})
	add("changes of account 1", ch, err)
	var hooks []core.Webhook
	err = db.Read(ctx, func(tx core.ReadTx) (err error) { hooks, err = tx.Webhooks(ctx); return })
	add("webhooks", hooks, err)
	adm := actor(t, ctx, db, admin, core.ChannelAPI)
	for _, h := range hooks {
		d, err := svc.WebhookDeliveries(ctx, adm, h.ID, core.Page{Number: 1, Size: 200})
		add(fmt.Sprintf("webhook deliveries %d", h.ID), d, err)
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func openAll(ctx context.Context, svc *core.Service, u core.Actor, ticket, id int64) (any, error) {
	a, rc, err := svc.OpenAttachment(ctx, u, core.TicketRef{ID: ticket}, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	return map[string]any{"attachment": a, "bytes": n, "sha256": hex.EncodeToString(h.Sum(nil))}, err
}

func ticketIDs(t *testing.T, db store) []int64 {
	var ids []int64
	check(t, "ticket IDs", db.Read(context.Background(), func(tx core.ReadTx) error {
		for id := int64(1); id <= 50; id++ {
			if _, err := tx.Ticket(context.Background(), id); err == nil {
				ids = append(ids, id)
			}
		}
		return nil
	}))
	return ids
}

// sameAnswers fails the test where two desks answer differently.
func sameAnswers(t *testing.T, what, want, got string) {
	t.Helper()
	if want == got {
		return
	}
	if dir := os.Getenv("HELPDESKD_TEST_COPY_DUMP"); dir != "" {
		os.WriteFile(filepath.Join(dir, "want.json"), []byte(want), 0o600)
		os.WriteFile(filepath.Join(dir, "got.json"), []byte(got), 0o600)
	}
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if wl[i] != gl[i] {
			lo := max(0, i-8)
			t.Fatalf("%s: answers differ at line %d:\nwant:\n%s\ngot:\n%s", what, i+1,
				strings.Join(wl[lo:min(len(wl), i+3)], "\n"), strings.Join(gl[lo:min(len(gl), i+3)], "\n"))
		}
	}
	t.Fatalf("%s: answers differ in length: %d lines, want %d", what, len(gl), len(wl))
}

func openPG(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openSQLite(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// afterCopy checks a copied desk takes new tickets with new IDs and finds copied text.
func afterCopy(t *testing.T, db store, maxID int64) {
	t.Helper()
	ctx := context.Background()
	svc := core.NewService(db, db.Blobs(), nil, notify())
	a := actor(t, ctx, db, custA, core.ChannelAPI)
	tk := must[*core.Ticket](t, "new ticket")(svc.CreateTicket(ctx, a, core.NewTicket{AccountID: 1, Subject: "After the move", Description: "zebra crossing"}))
	if tk.ID <= maxID {
		t.Fatalf("new ticket got ID %d, not above the copied %d", tk.ID, maxID)
	}
	adm := actor(t, ctx, db, admin, core.ChannelAPI)
	hook := must[*core.Webhook](t, "new webhook")(svc.CreateWebhook(ctx, adm, core.NewWebhook{URL: "https://new.example/hook",
		Events: []core.ChangeType{core.ChangeTicketCreated}}, false))
	if hook.ID <= 2 {
		t.Fatalf("new webhook got ID %d, reusing a copied one (1, 2)", hook.ID)
	}
	key, _, err := svc.CreateAPIKey(ctx, core.System(), custB)
	check(t, "api key", err)
	if key.ID <= 3 {
		t.Fatalf("new API key got ID %d, reusing a copied one (1..3, 3 deleted)", key.ID)
	}
	s := actor(t, ctx, db, staff, core.ChannelAPI)
	for _, q := range []string{"zebra", "smokes", "extinguisher"} {
		list, _, err := svc.Queue(ctx, s, core.QueueFilter{UserID: staff, Search: q, Page: core.Page{Number: 1, Size: 10}})
		check(t, "search", err)
		if len(list) == 0 {
			t.Fatalf("search %q finds nothing after the copy", q)
		}
	}
}

// indexDefs lists the indexes of a database: what a copy must leave as the migrations made
// them.
func indexDefs(t *testing.T, db store) string {
	t.Helper()
	ctx := context.Background()
	var out []string
	switch d := db.(type) {
	case *postgres.DB:
		rows, err := d.Pool().Query(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`)
		check(t, "indexes", err)
		defer rows.Close()
		for rows.Next() {
			var s string
			check(t, "index", rows.Scan(&s))
			out = append(out, s)
		}
		check(t, "indexes", rows.Err())
	case *sqlite.DB:
		raw, err := sql.Open("sqlite", "file:"+d.Path()+"?mode=ro")
		check(t, "open", err)
		defer raw.Close()
		rows, err := raw.QueryContext(ctx, `SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' ORDER BY name`)
		check(t, "indexes", err)
		defer rows.Close()
		for rows.Next() {
			var n, s string
			check(t, "index", rows.Scan(&n, &s))
			out = append(out, n+": "+s)
		}
		check(t, "indexes", rows.Err())
	}
	return strings.Join(out, "\n")
}

func TestCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	// Every table with a row has its indexes dropped and built again.
	defer storecopy.SetBulkRows(1)()
	src := sqlitetest.Open(t)
	build(t, src)
	ids := ticketIDs(t, src)
	// Reading a ticket as staff marks it read: the second round of answers is the one a
	// copy of the desk must give.
	answers(t, src, ids)
	want := answers(t, src, ids)

	pgDSN := pgtest.DSN(t)
	pg := openPG(t, pgDSN)
	res, err := storecopy.Copy(ctx, storecopy.SQLite(src.Path(), ""), storecopy.Postgres(pg, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sqlite → postgres: %d rows, %d blobs (%d bytes) in %s", res.Rows(), res.Blobs, res.BlobBytes, res.Elapsed)
	for _, tr := range res.Tables {
		if tr.Copied == 0 {
			t.Errorf("the desk has no row in %s: the copy of that table is not tested", tr.Name)
		}
	}
	if res.Blobs != 5 {
		t.Errorf("copied %d blobs, want 5 (2 attachments, 3 raw mails)", res.Blobs)
	}
	sameAnswers(t, "postgres copy", want, answers(t, pg, ids))

	// A second copy into the same (now full) database is refused.
	if _, err := storecopy.Copy(ctx, storecopy.SQLite(src.Path(), ""), storecopy.Postgres(pg, "postgres")); !errors.Is(err, storecopy.ErrNotEmpty) {
		t.Fatalf("copy into a full database: %v, want ErrNotEmpty", err)
	}

	back := filepath.Join(t.TempDir(), "back", "helpdeskd.db")
	res, err = storecopy.Copy(ctx, storecopy.Postgres(pg, "postgres"), storecopy.SQLite(back, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("postgres → sqlite: %d rows, %d blobs in %s", res.Rows(), res.Blobs, res.Elapsed)
	sq := openSQLite(t, back)
	sameAnswers(t, "sqlite copy of the postgres copy", want, answers(t, sq, ids))

	if got, want := indexDefs(t, pg), indexDefs(t, openPG(t, pgtest.DSN(t))); got != want {
		t.Errorf("indexes of the postgres copy:\n%s\nwant:\n%s", got, want)
	}
	if got, want := indexDefs(t, sq), indexDefs(t, sqlitetest.Open(t)); got != want {
		t.Errorf("indexes of the sqlite copy:\n%s\nwant:\n%s", got, want)
	}
	maxID := ids[len(ids)-1]
	afterCopy(t, pg, maxID)
	afterCopy(t, sq, maxID)
}

func TestCopyRefusesNonEmptySQLite(t *testing.T) {
	ctx := context.Background()
	src := sqlitetest.Open(t)
	build(t, src)
	dst := sqlitetest.Open(t)
	svc := core.NewService(dst, dst.Blobs(), nil, core.Options{})
	must[*core.Account](t, "account")(svc.PutAccount(ctx, core.System(), core.Account{ID: 9, Name: "Other"}))
	_, err := storecopy.Copy(ctx, storecopy.SQLite(src.Path(), ""), storecopy.SQLite(dst.Path(), ""))
	if !errors.Is(err, storecopy.ErrNotEmpty) || !strings.Contains(err.Error(), "1 accounts") {
		t.Fatalf("copy into a non-empty database: %v", err)
	}
}

package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/telegram"
	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/core"
)

// /canned <name> as a staff user's Telegram reply to a ticket's post in the staff chat
// sends that canned reply on the ticket, filled for the ticket and for the staff user who
// wrote the command, and sets its status; the customer gets it by Telegram and by email.
// An unknown name is answered with the names there are. Against the emulator.
func TestStaffChat_CannedSendsTheFilledReply(t *testing.T) {
	d := newDesk(t, emulatorURL(t), 0)
	d.start()
	d.link("ann", 1, annTG)
	d.link("sam", 1, samTG)
	var canned struct {
		ID int64 `json:"id"`
	}
	if code := d.call("POST", "/api/staff/CannedReply", "sam", map[string]any{"name": "Solved", "status": 2,
		"body": "Hello {{customer.name}}, ticket #{{ticket.id}} ({{ticket.subject}}) is fixed.\n{{staff.name}}"}, &canned); code != 201 {
		t.Fatalf("create canned reply: %d", code)
	}
	if code := d.call("POST", "/api/staff/CannedReply", "sam", map[string]any{"name": "hello", "body": "Hi {{customer.name}}."}, nil); code != 201 {
		t.Fatalf("create canned reply: %d", code)
	}

	d.e.say(annTG, "/new Server down", nil)
	d.e.expect(annTG.Chat, "Now describe the problem")
	d.e.say(annTG, "Since 10:00 nothing answers.", nil)
	id := ticketIn(t, d.e.expect(annTG.Chat, "is open: Server down"))
	post := d.e.expect(staffChat, fmt.Sprintf("New ticket #%d", id))

	// An unknown name changes nothing and lists the names.
	d.e.replyTo(inStaffChat(samTG), post, "/canned nope", nil)
	if got := d.e.expect(staffChat, `There is no canned reply "nope"`); !strings.Contains(got.Text, "hello, solved") {
		t.Errorf("unknown name answered %q, want the names listed", got.Text)
	}
	// /canned on no ticket's post says how to use it.
	d.e.say(inStaffChat(samTG), "/canned", nil)
	d.e.expect(staffChat, "Reply to a ticket's post with /canned <name>")

	want := fmt.Sprintf("Hello Ann, ticket #%d (Server down) is fixed.\nSam", id)
	d.e.replyTo(inStaffChat(samTG), post, "/canned SOLVED", nil)
	if got := d.e.expect(staffChat, fmt.Sprintf(`Sent the canned reply "solved" on ticket #%d`, id)); !strings.Contains(got.Text, want) {
		t.Errorf("staff chat answer %q, want the text sent", got.Text)
	}
	// The customer is told the reply and the status change, in that order.
	d.e.expect(annTG.Chat, want)
	d.e.expect(annTG.Chat, "Resolved")
	eventually(t, expectWait, func() error {
		for _, o := range d.emails.to("ann@customer.test") {
			if o.Kind == core.NotifyStaffReply && strings.Contains(o.Text, "Hello Ann, ticket #") {
				return nil
			}
		}
		return errors.New("no email with the canned reply to the customer")
	})
	tk := d.ticket("ann", 1, id)
	last := tk.Messages[len(tk.Messages)-1]
	if tk.Status != core.StatusResolved || len(tk.Messages) != 2 || last.Author != core.AuthorStaff ||
		last.Channel != core.ChannelTelegram || last.Message != want {
		t.Fatalf("ticket after /canned: status %d, messages %+v", tk.Status, tk.Messages)
	}

	// Someone who is no linked staff user sends nothing.
	d.e.replyTo(inStaffChat(strangerTG), post, "/canned hello", nil)
	d.e.expect(staffChat, "not linked to a staff user")
	if tk := d.ticket("ann", 1, id); len(tk.Messages) != 2 {
		t.Errorf("a stranger's /canned added a message: %+v", tk.Messages)
	}
}

// A /canned update whose reply was committed but not acknowledged (the gateway stopped dead
// in between) comes again, and sends nothing twice. The emulator hands out each update once,
// so this runs against the in-process fake, which redelivers from the offset as Telegram does.
func TestStaffChat_CannedRedeliveredSendsOnce(t *testing.T) {
	f := telegramtest.New(t, telegramtest.Options{})
	d := newDesk(t, f.URL(), 0)
	sam := core.Actor{User: mustUser(t, d, 9), Channel: core.ChannelAPI}
	code, _, err := d.svc.CreateTelegramLink(ctx, sam)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.LinkTelegram(ctx, code, samTG.ID); err != nil {
		t.Fatal(err)
	}
	tk, err := d.svc.CreateTicket(ctx, core.Actor{User: mustUser(t, d, 1), Channel: core.ChannelAPI},
		core.NewTicket{AccountID: 1, Subject: "Mail bounces", Description: "Since Monday."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.CreateCannedReply(ctx, sam, core.NewCannedReply{Name: "dns", Body: "{{customer.name}}, check the MX record."}); err != nil {
		t.Fatal(err)
	}
	const post = 500 // the bot's post of the ticket in the staff chat
	if err := d.db.RememberTelegramMessage(ctx, staffChat, post, tk.ID); err != nil {
		t.Fatal(err)
	}
	last := f.Push(map[string]any{"message": map[string]any{"message_id": 501, "date": time.Now().Unix(), "text": "/canned dns",
		"from":             map[string]any{"id": samTG.ID, "first_name": "Sam"},
		"chat":             map[string]any{"id": staffChat, "type": "supergroup"},
		"reply_to_message": map[string]any{"message_id": post, "chat": map[string]any{"id": staffChat, "type": "supergroup"}, "from": map[string]any{"id": 666, "is_bot": true, "first_name": "Bot"}},
	}})

	for round := 0; ; round++ {
		if round > 3 {
			t.Fatal("the update was not finished after 3 restarts")
		}
		gw, err := telegram.New(d.svc, d.pipe, d.db, d.opts)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, kill := context.WithCancel(ctx)
		var once sync.Once
		if round == 0 {
			gw.SetBeforeAck(func(int64) error {
				once.Do(kill)
				return errors.New("killed between commit and ack")
			})
		}
		done := make(chan struct{})
		go func() { gw.Run(runCtx); close(done) }()
		eventually(t, expectWait, func() error {
			if runCtx.Err() != nil {
				return nil
			}
			if off, _ := d.db.TelegramOffset(ctx); off != last+1 {
				return fmt.Errorf("round %d: offset %d, want %d", round, off, last+1)
			}
			// The answer goes out after the offset is stored: stopping the bot at once
			// would cancel it.
			if len(f.SentTo(staffChat)) == 0 {
				return fmt.Errorf("round %d: the update is done but not answered yet", round)
			}
			return nil
		})
		kill()
		<-done
		gw.Close()
		if off, _ := d.db.TelegramOffset(ctx); off == last+1 {
			break
		}
	}
	detail, err := d.svc.StaffTicket(ctx, sam, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(detail.Messages); n != 2 || detail.Messages[1].Body != "Ann, check the MX record." {
		t.Fatalf("messages after a redelivered /canned: %+v, want the canned reply once", detail.Messages)
	}
	var answers []string
	for _, s := range f.SentTo(staffChat) {
		answers = append(answers, s.Text)
	}
	if len(answers) != 1 || !strings.Contains(answers[0], fmt.Sprintf("Added to ticket #%d", tk.ID)) {
		t.Errorf("staff chat answers %q, want one, for the redelivery", answers)
	}
}

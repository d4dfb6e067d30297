package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/telegram"
	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

var ticketNo = regexp.MustCompile(`#(\d+)`)

// ticketIn returns the last "#N" in a bot message.
func ticketIn(t *testing.T, m botMsg) int64 {
	t.Helper()
	all := ticketNo.FindAllStringSubmatch(m.Text, -1)
	if len(all) == 0 {
		t.Fatalf("no ticket number in %q", m.Text)
	}
	n, _ := strconv.ParseInt(all[len(all)-1][1], 10, 64)
	return n
}

// Acceptance 1: link with the API's code, /new dialogue, the staff reply made through the
// API arrives as a Telegram message, a Telegram reply to it is added to the ticket.
func TestCustomer_LinksOpensTicketAndAnswersTheStaffReply(t *testing.T) {
	d := newDesk(t, emulatorURL(t), 0)
	d.start()
	d.link("ann", 1, annTG)

	d.e.say(annTG, "/new", nil)
	q := d.e.expect(annTG.Chat, "What is it about?")
	d.e.press(annTG, q, q.button("Billing"))
	d.e.expect(annTG.Chat, "Topic: Billing")
	d.e.say(annTG, "Invoice charged twice", nil)
	d.e.expect(annTG.Chat, "Now describe the problem")
	d.e.say(annTG, "I was charged twice in March.", nil)
	id := ticketIn(t, d.e.expect(annTG.Chat, "is open: Invoice charged twice"))

	if code := d.call("POST", fmt.Sprintf("/api/staff/Ticket/%d/Reply", id), "sam", map[string]any{"message": "Refunded the second charge."}, nil); code != 201 {
		t.Fatalf("staff reply: %d", code)
	}
	n := d.e.expect(annTG.Chat, "Refunded the second charge.")
	if n.button("Reply") != fmt.Sprintf("reply:%d", id) || n.button("Close") != fmt.Sprintf("close:%d", id) {
		t.Fatalf("notification buttons: %+v", n.Buttons)
	}
	d.e.replyTo(annTG, n, "Thanks, I see it now.", nil)
	d.e.expect(annTG.Chat, fmt.Sprintf("Added to ticket #%d", id))

	tk := d.ticket("ann", 1, id)
	if tk.Topic != core.TopicBilling || tk.Subject != "Invoice charged twice" || len(tk.Messages) != 3 {
		t.Fatalf("ticket: %+v", tk)
	}
	first, staff, last := tk.Messages[0], tk.Messages[1], tk.Messages[2]
	if first.Channel != core.ChannelTelegram || first.Message != "I was charged twice in March." || first.Author != core.AuthorCustomer {
		t.Errorf("opening message: %+v", first)
	}
	if staff.Author != core.AuthorStaff || staff.Channel != core.ChannelAPI {
		t.Errorf("staff message: %+v", staff)
	}
	if last.Channel != core.ChannelTelegram || last.Message != "Thanks, I see it now." || last.Author != core.AuthorCustomer {
		t.Errorf("reply: %+v", last)
	}
}

// Acceptance 2: the new ticket is posted in the staff chat; a linked staff user's reply
// there is a staff reply that reaches the customer by Telegram and by email.
func TestStaffChat_PostsNewTicketAndStaffReplyReachesCustomer(t *testing.T) {
	d := newDesk(t, emulatorURL(t), 0)
	d.start()
	d.link("ann", 1, annTG)
	d.link("sam", 1, samTG)

	d.e.say(annTG, "/new Server down", nil)
	d.e.expect(annTG.Chat, "Now describe the problem")
	d.e.say(annTG, "Since 10:00 nothing answers.", nil)
	id := ticketIn(t, d.e.expect(annTG.Chat, "is open: Server down"))

	post := d.e.expect(staffChat, fmt.Sprintf("New ticket #%d", id))
	if !strings.Contains(post.Text, "Since 10:00 nothing answers.") || post.button("Close") == "" {
		t.Fatalf("staff post: %+v", post)
	}
	d.e.replyTo(inStaffChat(samTG), post, "We are on it.", nil)
	d.e.expect(staffChat, fmt.Sprintf("Added to ticket #%d", id))
	got := d.e.expect(annTG.Chat, "We are on it.")
	eventually(t, expectWait, func() error {
		for _, o := range d.emails.to("ann@customer.test") {
			if o.Kind == core.NotifyStaffReply && strings.Contains(o.Text, "We are on it.") {
				return nil
			}
		}
		return errors.New("no email with the staff reply to the customer")
	})
	tk := d.ticket("ann", 1, id)
	if m := tk.Messages[len(tk.Messages)-1]; m.Author != core.AuthorStaff || m.Channel != core.ChannelTelegram || m.Message != "We are on it." {
		t.Fatalf("staff reply stored as %+v", m)
	}

	// The customer's answer is posted in the staff chat too.
	d.e.replyTo(annTG, got, "Thank you!", nil)
	d.e.expect(annTG.Chat, fmt.Sprintf("Added to ticket #%d", id))
	d.e.expect(staffChat, fmt.Sprintf("replied to ticket #%d", id))
}

// Acceptance 3: a photo becomes an attachment of the right ticket, downloadable through the
// API. The emulator has no getFile nor file downloads: the in-process fake serves those two
// and passes everything else on to the emulator.
func TestPhoto_BecomesDownloadableAttachment(t *testing.T) {
	f := telegramtest.New(t, telegramtest.Options{Emulator: emulatorURL(t)})
	d := newDesk(t, f.URL(), 0)
	d.start()
	d.link("ann", 1, annTG)
	photo := bytes.Repeat([]byte("\x89PNG-not-really "), 500)
	f.AddFile("photo-large", photo)

	d.e.say(annTG, "/new Broken page", nil)
	d.e.expect(annTG.Chat, "Now describe the problem")
	d.e.say(annTG, "", map[string]any{"caption": "See the error on the screenshot.", "photo": []any{
		map[string]any{"file_id": "photo-small", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 100},
		map[string]any{"file_id": "photo-large", "file_unique_id": "l", "width": 1280, "height": 800, "file_size": len(photo)},
	}})
	id := ticketIn(t, d.e.expect(annTG.Chat, "is open: Broken page"))
	tk := d.ticket("ann", 1, id)
	if len(tk.Messages) != 1 || len(tk.Messages[0].Attachments) != 1 {
		t.Fatalf("ticket: %+v", tk)
	}
	a := tk.Messages[0].Attachments[0]
	if a.ContentType != "image/jpeg" || a.Size != int64(len(photo)) || tk.Messages[0].Message != "See the error on the screenshot." {
		t.Fatalf("attachment %+v of %+v", a, tk.Messages[0])
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/Ticket/%d/Attachment/%d?accountId=1", d.api.URL, id, a.ID), nil)
	req.Header.Set("X-API-Key", d.keys["ann"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, photo) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(got))
	}
	// Bob's account does not see it.
	if code := d.call("GET", fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=2", id, a.ID), "bob", nil, nil); code != 404 {
		t.Fatalf("other account: %d", code)
	}
}

// Acceptance 5: unlinked users, unknown commands, a reply to a closed ticket, a 30 MB
// document and a message to another account's ticket each get a clear answer and change
// nothing else.
func TestRefusals_AnswerClearlyAndChangeNothing(t *testing.T) {
	d := newDesk(t, emulatorURL(t), 10<<20)
	d.start()
	d.link("ann", 1, annTG)
	bobs, err := d.svc.CreateTicket(ctx, core.Actor{User: mustUser(t, d, 2), Channel: core.ChannelAPI},
		core.NewTicket{AccountID: 2, Subject: "Bob's", Description: "private"})
	if err != nil {
		t.Fatal(err)
	}
	tickets, messages := d.counts()
	unchanged := func(what string) {
		t.Helper()
		if tk, ms := d.counts(); tk != tickets || ms != messages {
			t.Fatalf("%s changed the desk: %d tickets, %d messages (was %d, %d)", what, tk, ms, tickets, messages)
		}
	}

	// An unlinked user gets the explanation, whatever they send.
	for _, text := range []string{"/new", "Hello, my site is down", "/tickets", "/start not-a-code"} {
		d.e.say(strangerTG, text, nil)
	}
	for range 3 {
		d.e.expect(strangerTG.Chat, "not linked to a customer account")
	}
	d.e.expect(strangerTG.Chat, "unknown, used or expired")
	unchanged("an unlinked user")

	d.e.say(annTG, "/frobnicate", nil)
	d.e.expect(annTG.Chat, "Unknown command /frobnicate. Nothing was changed.")
	unchanged("an unknown command")

	// Another account's ticket: not found, whichever way it is named.
	d.e.say(annTG, fmt.Sprintf("/ticket %d", bobs.ID), nil)
	m := d.e.expect(annTG.Chat, fmt.Sprintf("Ticket #%d was not found", bobs.ID))
	d.e.say(annTG, fmt.Sprintf("/close %d", bobs.ID), nil)
	d.e.expect(annTG.Chat, fmt.Sprintf("Ticket #%d was not found", bobs.ID))
	d.e.press(annTG, m, fmt.Sprintf("reply:%d", bobs.ID))
	d.e.expect(annTG.Chat, fmt.Sprintf("Ticket #%d was not found", bobs.ID))
	d.e.press(annTG, m, fmt.Sprintf("close:%d", bobs.ID))
	d.e.expect(annTG.Chat, fmt.Sprintf("Ticket #%d was not found", bobs.ID))
	unchanged("another account's ticket")
	if got, _ := d.svc.VisibleTicket(ctx, core.System(), bobs.ID); got.Status != core.StatusOpen || got.MessageCount != 1 {
		t.Fatalf("Bob's ticket: %+v", got)
	}

	// A 30 MB document: refused by its size before anything is downloaded.
	d.e.say(annTG, "", map[string]any{"caption": "the dump", "document": map[string]any{
		"file_id": "dump", "file_unique_id": "d", "file_name": "dump.tar", "mime_type": "application/x-tar", "file_size": 30 << 20}})
	d.e.expect(annTG.Chat, `The file "dump.tar" (30 MB) is larger than the 10 MB limit, so nothing was added.`)
	unchanged("a 30 MB document")

	// A reply to a closed ticket opens a follow-up and says so; the closed one is untouched.
	d.e.say(annTG, "/new Old problem", nil)
	d.e.expect(annTG.Chat, "Now describe")
	d.e.say(annTG, "It broke.", nil)
	old := ticketIn(t, d.e.expect(annTG.Chat, "is open: Old problem"))
	d.e.say(annTG, fmt.Sprintf("/close %d", old), nil)
	closed := d.e.expect(annTG.Chat, fmt.Sprintf("Ticket #%d is closed", old))
	tickets, messages = d.counts()
	d.e.replyTo(annTG, closed, "It broke again.", nil)
	follow := d.e.expect(annTG.Chat, fmt.Sprintf("Ticket #%d is closed, so your message opened a new ticket", old))
	newID := ticketIn(t, follow)
	nt, err := d.svc.VisibleTicket(ctx, core.System(), newID)
	if err != nil || nt.FollowUpOf != old || nt.Description != "It broke again." {
		t.Fatalf("follow-up: %+v %v", nt, err)
	}
	if ot, _ := d.svc.VisibleTicket(ctx, core.System(), old); ot.Status != core.StatusClosed || ot.MessageCount != 1 {
		t.Fatalf("closed ticket changed: %+v", ot)
	}
	if tk, ms := d.counts(); tk != tickets+1 || ms != messages+1 {
		t.Fatalf("follow-up made %d tickets, %d messages (was %d, %d)", tk, ms, tickets, messages)
	}
}

func mustUser(t *testing.T, d *desk, id int64) *core.User {
	t.Helper()
	var u *core.User
	err := d.db.Read(ctx, func(tx core.ReadTx) error {
		var err error
		u, err = tx.User(ctx, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Plain text asks "new ticket or reply to…" with the open tickets as buttons.
func TestPlainText_AsksNewOrReplyWithOpenTickets(t *testing.T) {
	d := newDesk(t, emulatorURL(t), 0)
	d.start()
	d.link("ann", 1, annTG)

	d.e.say(annTG, "My mail bounces\nsince this morning.", nil)
	q := d.e.expect(annTG.Chat, "Is this a new ticket?")
	d.e.press(annTG, q, q.button("New ticket"))
	id := ticketIn(t, d.e.expect(annTG.Chat, "is open: My mail bounces"))
	// The same button again: the question is gone, nothing happens twice.
	d.e.press(annTG, q, q.button("New ticket"))
	d.e.expect(annTG.Chat, "This question has expired")

	d.e.say(annTG, "Also the webmail.", nil)
	q = d.e.expect(annTG.Chat, "or a reply to one of your open tickets?")
	d.e.press(annTG, q, q.button(fmt.Sprintf("#%d", id)))
	d.e.expect(annTG.Chat, fmt.Sprintf("Added to ticket #%d", id))

	d.e.say(annTG, "/tickets", nil)
	d.e.expect(annTG.Chat, fmt.Sprintf("#%d My mail bounces — Open", id))
	d.e.say(annTG, fmt.Sprintf("/ticket %d", id), nil)
	v := d.e.expect(annTG.Chat, "Also the webmail.")
	// Reply button: the next message answers the ticket.
	d.e.press(annTG, v, v.button("Reply"))
	p := d.e.expect(annTG.Chat, fmt.Sprintf("Write your reply to ticket #%d", id))
	if !p.ForceReply {
		t.Errorf("reply prompt without force_reply")
	}
	d.e.say(annTG, "And the calendar.", nil)
	d.e.expect(annTG.Chat, fmt.Sprintf("Added to ticket #%d", id))
	if tk := d.ticket("ann", 1, id); len(tk.Messages) != 3 || tk.Messages[0].Message != "My mail bounces\nsince this morning." {
		t.Fatalf("ticket: %+v", tk)
	}
	d.e.say(annTG, "/unlink", nil)
	d.e.expect(annTG.Chat, "no longer linked")
	d.e.say(annTG, "/tickets", nil)
	d.e.expect(annTG.Chat, "not linked")
}

// The /new dialogue is stored with each step, so a restart in the middle loses nothing.
func TestDialogue_SurvivesRestart(t *testing.T) {
	d := newDesk(t, emulatorURL(t), 0)
	d.start()
	d.link("ann", 1, annTG)
	d.e.say(annTG, "/new", nil)
	q := d.e.expect(annTG.Chat, "What is it about?")
	d.e.press(annTG, q, q.button("SSL"))
	d.e.expect(annTG.Chat, "Topic: SSL / Certificates")
	d.stop()

	d.start()
	d.e.say(annTG, "Certificate expired", nil)
	d.e.expect(annTG.Chat, "Now describe the problem")
	d.stop()

	d.start()
	d.e.say(annTG, "The shop shows a warning.", nil)
	id := ticketIn(t, d.e.expect(annTG.Chat, "is open: Certificate expired"))
	if tk := d.ticket("ann", 1, id); tk.Topic != core.TopicSSL || tk.Messages[0].Message != "The shop shows a warning." {
		t.Fatalf("ticket: %+v", tk)
	}
}

// Acceptance 4 (in process): the gateway is stopped dead after each update's change is
// committed and before it is acknowledged, then started afresh on the same database, once
// for every update. The emulator hands out each update only once whatever the offset, so
// this runs against the in-process fake, which redelivers from the offset as Telegram does.
func TestCrash_BetweenCommitAndAck_AppliesEachUpdateOnce(t *testing.T) {
	f := telegramtest.New(t, telegramtest.Options{})
	d := newDesk(t, f.URL(), 0)
	code, _, err := d.svc.CreateTelegramLink(ctx, core.Actor{User: mustUser(t, d, 1), Channel: core.ChannelAPI})
	if err != nil {
		t.Fatal(err)
	}
	msg := func(text string) map[string]any {
		m := map[string]any{"message_id": 0, "date": time.Now().Unix(), "text": text,
			"from": map[string]any{"id": annTG.ID, "first_name": "Ann"}, "chat": map[string]any{"id": annTG.Chat, "type": "private"}}
		return map[string]any{"message": m}
	}
	var last int64
	for i, text := range []string{"/start " + code, "/new First", "first description", "/new Second", "second description", "a loose message"} {
		u := msg(text)
		u["message"].(map[string]any)["message_id"] = 100 + i
		last = f.Push(u)
	}

	seen := map[int64]bool{}
	for round := 0; ; round++ {
		if round > 20 {
			t.Fatal("updates not all finished after 20 restarts")
		}
		gw, err := telegram.New(d.svc, d.pipe, d.db, d.opts)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, kill := context.WithCancel(ctx)
		killed := make(chan struct{})
		var once sync.Once
		gw.SetBeforeAck(func(id int64) error {
			if seen[id] {
				return nil
			}
			seen[id] = true
			once.Do(func() { kill(); close(killed) })
			return errors.New("killed between commit and ack")
		})
		done := make(chan struct{})
		go func() { gw.Run(runCtx); close(done) }()
		// The round ends with the kill, or with every update finished.
		eventually(t, expectWait, func() error {
			select {
			case <-killed:
				return nil
			default:
			}
			off, err := d.db.TelegramOffset(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if off != last+1 {
				return fmt.Errorf("round %d: no kill, and the offset is %d, want %d", round, off, last+1)
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
	if int64(len(seen)) != last {
		t.Fatalf("%d updates crashed once each, want %d", len(seen), last)
	}
	var descs []string
	list, _ := d.svc.OpenTickets(ctx, core.Actor{User: mustUser(t, d, 1)}, 10)
	for _, tk := range list {
		descs = append(descs, tk.Subject+": "+tk.Description)
	}
	want := []string{"Second: second description", "First: first description"}
	if fmt.Sprint(descs) != fmt.Sprint(want) {
		t.Fatalf("tickets %q, want %q", descs, want)
	}
	// Each answer was sent once: after the finish, never before.
	var opened int
	for _, s := range f.SentTo(annTG.Chat) {
		if strings.Contains(s.Text, "is open:") {
			opened++
		}
	}
	if opened != 2 {
		t.Fatalf("%d 'is open' answers, want 2", opened)
	}
	if dlg, _ := d.db.TelegramDialogue(ctx, annTG.ID); !strings.Contains(dlg, "a loose message") {
		t.Fatalf("dialogue after the loose message: %q", dlg)
	}
}

func TestSplit(t *testing.T) {
	long := strings.Repeat("word ", 2000) // 10 000 characters
	emoji := strings.Repeat("😀", 3000)    // 6 000 UTF-16 units
	for _, tc := range []struct {
		name  string
		text  string
		parts int
	}{
		{"short", "hello", 1},
		{"exactly the limit", strings.Repeat("a", telegram.MaxTextLen), 1},
		{"one over", strings.Repeat("a", telegram.MaxTextLen+1), 2},
		{"words", long, 3},
		{"astral characters count twice", emoji, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := telegram.Split(tc.text, telegram.MaxTextLen)
			if len(parts) != tc.parts {
				t.Fatalf("%d parts, want %d", len(parts), tc.parts)
			}
			joined := strings.Join(parts, "")
			for _, p := range parts {
				units := 0
				for _, r := range p {
					units++
					if r > 0xFFFF {
						units++
					}
				}
				if units > telegram.MaxTextLen {
					t.Fatalf("part of %d units", units)
				}
			}
			if strings.ReplaceAll(joined, " ", "") != strings.ReplaceAll(tc.text, " ", "") {
				t.Fatal("text lost in splitting")
			}
		})
	}
}

// The Sender against the in-process fake, for what the emulator cannot produce: a 429
// with retry_after and a user who blocked the bot.
func TestSender_RateLimitsBlockedUsersAndLongTexts(t *testing.T) {
	f := telegramtest.New(t, telegramtest.Options{})
	d := newDesk(t, f.URL(), 0)
	d.opts.Pace = telegram.Pace{PerChat: 50 * time.Millisecond, PerGroup: 50 * time.Millisecond, Overall: time.Millisecond}
	gw, err := telegram.New(d.svc, d.pipe, d.db, d.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	s := gw.Sender()
	tk, err := d.svc.CreateTicket(ctx, core.Actor{User: mustUser(t, d, 1), Channel: core.ChannelAPI},
		core.NewTicket{AccountID: 1, Subject: "S", Description: "D"})
	if err != nil {
		t.Fatal(err)
	}
	out := gateway.Outgoing{Channel: core.ChannelTelegram, To: "42", TicketID: tk.ID, Text: strings.Repeat("x", 5000),
		Actions: []gateway.Action{{Label: "Reply", Data: fmt.Sprintf("reply:%d", tk.ID)}}}

	t.Run("long text split, buttons on the last part, every part remembered", func(t *testing.T) {
		if err := s.Send(ctx, out); err != nil {
			t.Fatal(err)
		}
		sent := f.SentTo(42)
		if len(sent) != 2 || !strings.Contains(string(sent[1].Markup), "reply:") || strings.Contains(string(sent[0].Markup), "reply:") {
			t.Fatalf("sent %+v", sent)
		}
		for _, m := range sent {
			if got, _ := d.db.TelegramMessageTicket(ctx, 42, m.ID); got != tk.ID {
				t.Errorf("message %d belongs to %d", m.ID, got)
			}
		}
	})
	t.Run("429 is a RetryAfterError", func(t *testing.T) {
		f.FailNext(43, telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 7", RetryAfter: 7})
		o := out
		o.To, o.Text = "43", "short"
		err := s.Send(ctx, o)
		var ra *gateway.RetryAfterError
		if !errors.As(err, &ra) || ra.After != 7*time.Second {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("429 in the middle of a split text is waited out, no part twice", func(t *testing.T) {
		// The first part goes through; the second meets a 429 of 1 s.
		f.FailNext(44, telegramtest.Failure{}, telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1})
		o := out
		o.To = "44"
		if err := s.Send(ctx, o); err != nil {
			t.Fatal(err)
		}
		if sent := f.SentTo(44); len(sent) != 2 {
			t.Fatalf("%d parts sent, want 2", len(sent))
		}
	})
	t.Run("blocked user and unknown chat are permanent", func(t *testing.T) {
		for chat, desc := range map[int64]string{45: "Forbidden: bot was blocked by the user", 46: "Bad Request: chat not found"} {
			code := 403
			if chat == 46 {
				code = 400
			}
			f.FailNext(chat, telegramtest.Failure{Code: code, Description: desc})
			o := out
			o.To, o.Text = strconv.FormatInt(chat, 10), "short"
			if err := s.Send(ctx, o); !gateway.IsPermanent(err) {
				t.Errorf("%s: %v is not permanent", desc, err)
			}
		}
	})
}

// A user who blocked the bot: the dispatcher marks the notification failed at once.
func TestDispatcher_BlockedUserMarksNotificationFailed(t *testing.T) {
	f := telegramtest.New(t, telegramtest.Options{})
	d := newDesk(t, f.URL(), 0)
	code, _, _ := d.svc.CreateTelegramLink(ctx, core.Actor{User: mustUser(t, d, 1), Channel: core.ChannelAPI})
	if _, err := d.svc.LinkTelegram(ctx, code, annTG.ID); err != nil {
		t.Fatal(err)
	}
	f.FailNext(annTG.Chat, telegramtest.Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"})
	d.start()
	tk, err := d.svc.CreateTicket(ctx, core.Actor{User: mustUser(t, d, 1), Channel: core.ChannelAPI},
		core.NewTicket{AccountID: 1, Subject: "Help", Description: "opened in the panel"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.svc.Reply(ctx, core.Actor{User: mustUser(t, d, 9), Channel: core.ChannelAPI}, core.TicketRef{ID: tk.ID},
		core.NewReply{Body: "An answer Ann will not get on Telegram."}); err != nil {
		t.Fatal(err)
	}
	eventually(t, expectWait, func() error {
		failed, err := d.db.Notifications(ctx, core.NotificationFailed, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) == 1 && failed[0].Channel == core.ChannelTelegram && failed[0].TicketID == tk.ID && failed[0].Attempts == 1 &&
			strings.Contains(failed[0].LastError, "blocked") {
			return nil
		}
		return fmt.Errorf("failed notifications: %+v", failed)
	})
}

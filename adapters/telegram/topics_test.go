package telegram_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/core"
)

// Forum topics run against the project's own fake (telegramtest): the emulator has no
// forum methods and no getChat. The store, the pipeline, the dispatcher and the Bot API
// calls over HTTP are the real ones.

// forum is a desk whose staff chat is a forum supergroup, with Ann (a customer) and Sam
// (staff) linked to Telegram, and its gateway and dispatcher running.
type forum struct {
	*desk
	f        *telegramtest.Server
	ann, sam core.Actor
}

func newForum(t *testing.T, isForum bool) *forum {
	t.Helper()
	f := telegramtest.New(t, telegramtest.Options{})
	if isForum {
		f.Forum(staffChat)
	}
	d := newDeskNotify(t, f.URL(), 0, true)
	fm := &forum{desk: d, f: f}
	fm.ann = core.Actor{User: fm.linkTG(1, annTG.ID), Channel: core.ChannelAPI}
	fm.sam = core.Actor{User: fm.linkTG(9, samTG.ID), Channel: core.ChannelAPI}
	d.start()
	return fm
}

// linkTG links user id to a Telegram account the way /start <code> does.
func (fm *forum) linkTG(id, telegramID int64) *core.User {
	fm.t.Helper()
	code, _, err := fm.svc.CreateTelegramLink(ctx, core.Actor{User: mustUser(fm.t, fm.desk, id), Channel: core.ChannelAPI})
	if err != nil {
		fm.t.Fatal(err)
	}
	u, err := fm.svc.LinkTelegram(ctx, code, telegramID)
	if err != nil {
		fm.t.Fatal(err)
	}
	return u
}

func (fm *forum) newTicket(subject, text string) int64 {
	fm.t.Helper()
	tk, err := fm.svc.CreateTicket(ctx, fm.ann, core.NewTicket{AccountID: 1, Subject: subject, Description: text})
	if err != nil {
		fm.t.Fatal(err)
	}
	return tk.ID
}

// topicOf waits for the ticket's topic and returns its thread.
func (fm *forum) topicOf(ticket int64) int64 {
	fm.t.Helper()
	var thread int64
	eventually(fm.t, expectWait, func() error {
		var err error
		thread, _, err = fm.db.TelegramTopic(ctx, staffChat, ticket)
		if err == nil && thread == 0 {
			err = fmt.Errorf("ticket #%d has no topic yet", ticket)
		}
		return err
	})
	return thread
}

// inTopic waits for a bot message in the thread that contains want.
func (fm *forum) inTopic(thread int64, want string) telegramtest.Sent {
	fm.t.Helper()
	var got telegramtest.Sent
	eventually(fm.t, expectWait, func() error {
		var seen []string
		for _, s := range fm.f.SentTo(staffChat) {
			if s.Thread == thread && strings.Contains(s.Text, want) {
				got = s
				return nil
			}
			seen = append(seen, fmt.Sprintf("[%d] %.80q", s.Thread, s.Text))
		}
		return fmt.Errorf("no %q in topic %d; the staff chat has %v", want, thread, seen)
	})
	return got
}

// sentTo lists the texts the bot sent to chat (in thread when it is not 0).
func (fm *forum) sentTo(chat, thread int64) []string {
	var out []string
	for _, s := range fm.f.SentTo(chat) {
		if thread == 0 || s.Thread == thread {
			out = append(out, s.Text)
		}
	}
	return out
}

// write is a person writing text in the topic.
func (fm *forum) write(from, thread int64, text string) {
	fm.f.PushMessage(telegramtest.Message{From: from, Chat: staffChat, Thread: thread, Text: text})
}

func (fm *forum) staffTicket(id int64) *core.StaffTicketDetail {
	fm.t.Helper()
	d, err := fm.svc.StaffTicket(ctx, fm.sam, id)
	if err != nil {
		fm.t.Fatal(err)
	}
	return d
}

// TestTopics_ATicketLivesInItsTopic: a new ticket opens a topic named after it; what a
// linked staff user writes there reaches the customer by Telegram and by email; a /note
// never reaches the customer; what happens in the panel (replies, notes, assignments) is
// posted there; /resolve resolves the ticket, /assign me assigns it, and /close closes the
// ticket and the topic.
func TestTopics_ATicketLivesInItsTopic(t *testing.T) {
	fm := newForum(t, true)
	id := fm.newTicket("Mail bounces", "Since Monday every mail to us bounces.")
	thread := fm.topicOf(id)
	fm.inTopic(thread, fmt.Sprintf("New ticket #%d", id))
	if topics := fm.f.Topics(staffChat); len(topics) != 1 || topics[0].Name != fmt.Sprintf("#%d Mail bounces", id) || topics[0].Closed {
		t.Fatalf("topics %+v, want one open, named after the ticket", topics)
	}

	// Sam writes in the topic: no Telegram reply, yet it is a staff reply on the ticket.
	fm.write(samTG.ID, thread, "The MX record points to an old server; we fixed it.")
	fm.inTopic(thread, fmt.Sprintf("Added to ticket #%d", id))
	eventually(t, expectWait, func() error {
		for _, s := range fm.sentTo(annTG.Chat, 0) {
			if strings.Contains(s, "we fixed it") {
				return nil
			}
		}
		return fmt.Errorf("Ann's chat has %q, not the reply", fm.sentTo(annTG.Chat, 0))
	})
	eventually(t, expectWait, func() error {
		for _, o := range fm.emails.to("ann@customer.test") {
			if o.Kind == core.NotifyStaffReply && strings.Contains(o.Text, "we fixed it") {
				return nil
			}
		}
		return errors.New("no email with the staff reply to the customer")
	})
	msgs := fm.staffTicket(id).Messages
	if last := msgs[len(msgs)-1]; len(msgs) != 2 || last.Author != core.AuthorStaff || last.AuthorUserID != 9 || last.Internal ||
		last.Channel != core.ChannelTelegram {
		t.Fatalf("messages after Sam wrote in the topic: %+v", msgs)
	}

	// A note is kept for staff, and the customer never sees it.
	fm.write(samTG.ID, thread, "/note the old server is still listed in SPF too")
	fm.inTopic(thread, fmt.Sprintf("Internal note added to ticket #%d", id))
	msgs = fm.staffTicket(id).Messages
	if last := msgs[len(msgs)-1]; len(msgs) != 3 || !last.Internal || last.Body != "the old server is still listed in SPF too" {
		t.Fatalf("messages after /note: %+v", msgs)
	}

	// What staff do in the panel is told in the topic.
	if _, err := fm.svc.StaffReply(ctx, fm.sam, id, core.NewReply{Body: "Please try again now."}); err != nil {
		t.Fatal(err)
	}
	fm.inTopic(thread, "Sam replied to the customer:\n\nPlease try again now.")
	if _, err := fm.svc.StaffReply(ctx, fm.sam, id, core.NewReply{Body: "SPF updated as well.", Internal: true}); err != nil {
		t.Fatal(err)
	}
	fm.inTopic(thread, "Sam wrote an internal note:\n\nSPF updated as well.")

	fm.write(samTG.ID, thread, "/resolve")
	fm.inTopic(thread, "Sam set the status to Resolved.")
	if st := fm.staffTicket(id).Ticket.Status; st != core.StatusResolved {
		t.Fatalf("status after /resolve %v", st)
	}
	fm.write(samTG.ID, thread, "/assign me")
	fm.inTopic(thread, fmt.Sprintf("Ticket #%d is assigned to you.", id))
	if w := fm.staffTicket(id).Work; w.AssigneeUserID != 9 {
		t.Fatalf("assignee after /assign me: %+v", w)
	}
	// An assignment in the panel is told in the topic; the one in the topic was answered
	// there already and is not told again.
	if _, err := fm.svc.Assign(ctx, fm.sam, id, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := fm.svc.Assign(ctx, fm.sam, id, 9, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, expectWait, func() error {
		posts := fm.sentTo(staffChat, thread)
		i := slices.Index(posts, fmt.Sprintf("Ticket #%d is assigned to you.", id))
		if want := []string{"Sam left the ticket unassigned.", "Sam assigned the ticket to Sam."}; i < 0 || !slices.Equal(posts[i+1:], want) {
			return fmt.Errorf("the topic has %q, want %q after the answer to /assign me", posts, want)
		}
		return nil
	})

	fm.write(samTG.ID, thread, "/close")
	fm.inTopic(thread, "Sam set the status to Closed.")
	eventually(t, expectWait, func() error {
		if topics := fm.f.Topics(staffChat); len(topics) != 1 || !topics[0].Closed {
			return fmt.Errorf("topics %+v, want the ticket's closed", topics)
		}
		if _, closed, _ := fm.db.TelegramTopic(ctx, staffChat, id); !closed {
			return errors.New("the store does not know the topic is closed")
		}
		return nil
	})
	if st := fm.staffTicket(id).Ticket.Status; st != core.StatusClosed {
		t.Fatalf("status after /close %v", st)
	}

	for _, s := range fm.sentTo(annTG.Chat, 0) {
		if strings.Contains(s, "SPF") {
			t.Errorf("a note reached the customer's chat: %q", s)
		}
	}
	for _, o := range fm.emails.to("ann@customer.test") {
		if strings.Contains(o.Text, "SPF") || strings.Contains(o.HTML, "SPF") {
			t.Errorf("a note reached the customer's mail: %q", o.Text)
		}
	}
	// What Sam wrote in the topic is not posted there again.
	for _, s := range fm.sentTo(staffChat, thread) {
		if strings.Contains(s, "replied to the customer:\n\nThe MX record") || strings.Contains(s, "internal note:\n\nthe old server") {
			t.Errorf("the topic got an echo of what was written in it: %q", s)
		}
	}
	if topics := fm.f.Created(staffChat); topics != 1 {
		t.Errorf("%d topics made for one ticket", topics)
	}
}

// TestTopics_OnlyLinkedStaffAnswer: in a topic, someone who is not a linked staff user
// adds nothing, and is told why; an unknown command is answered with the topic's help.
func TestTopics_OnlyLinkedStaffAnswer(t *testing.T) {
	fm := newForum(t, true)
	id := fm.newTicket("VPS down", "It does not boot.")
	thread := fm.topicOf(id)
	fm.write(strangerTG.ID, thread, "I can help!")
	fm.inTopic(thread, "not linked to a staff user")
	fm.write(annTG.ID, thread, "Me again")
	fm.inTopic(thread, "Only staff can answer tickets")
	fm.write(samTG.ID, thread, "/frobnicate")
	fm.inTopic(thread, "/note <text>")
	fm.write(samTG.ID, thread, "/assign Billing")
	fm.inTopic(thread, "There are no departments yet")
	if n := len(fm.staffTicket(id).Messages); n != 1 {
		t.Fatalf("%d messages; nothing should have been added", n)
	}
}

// TestTopics_DeletedTopicIsMadeAgain: a topic deleted by hand in Telegram is made again
// at the ticket's next post, which goes there.
func TestTopics_DeletedTopicIsMadeAgain(t *testing.T) {
	fm := newForum(t, true)
	id := fm.newTicket("DNS", "The zone does not resolve.")
	thread := fm.topicOf(id)
	fm.inTopic(thread, fmt.Sprintf("New ticket #%d", id))
	if !fm.f.DeleteTopic(staffChat, thread) {
		t.Fatal("the fake did not delete the topic")
	}
	if _, _, err := fm.svc.Reply(ctx, fm.ann, core.TicketRef{ID: id}, core.NewReply{Body: "Any news?"}); err != nil {
		t.Fatal(err)
	}
	var again int64
	eventually(t, expectWait, func() error {
		again, _, _ = fm.db.TelegramTopic(ctx, staffChat, id)
		if again == 0 || again == thread {
			return fmt.Errorf("topic %d, want a new one", again)
		}
		return nil
	})
	fm.inTopic(again, "Any news?")
	if n := fm.f.Created(staffChat); n != 2 {
		t.Errorf("%d topics made, want 2", n)
	}
	if got, _ := fm.db.TelegramTopicTicket(ctx, staffChat, again); got != id {
		t.Errorf("the new topic belongs to #%d, want #%d", got, id)
	}
}

// TestTopics_SplitAndMerge: a split-off ticket gets a topic that starts with its first
// message, and the old topic says where the rest went; a merged ticket's topic says where
// it went and is closed, and the target's topic says what came in.
func TestTopics_SplitAndMerge(t *testing.T) {
	fm := newForum(t, true)
	id := fm.newTicket("Two problems", "Mail bounces.")
	thread := fm.topicOf(id)
	m, _, err := fm.svc.Reply(ctx, fm.ann, core.TicketRef{ID: id}, core.NewReply{Body: "And the VPS is slow."})
	if err != nil {
		t.Fatal(err)
	}
	split, err := fm.svc.SplitTicket(ctx, fm.sam, id, m.ID, "VPS is slow")
	if err != nil {
		t.Fatal(err)
	}
	splitThread := fm.topicOf(split.ID)
	fm.inTopic(splitThread, fmt.Sprintf("Sam split this ticket off #%d. Its first message:\n\nAnd the VPS is slow.", id))
	fm.inTopic(thread, fmt.Sprintf("Sam moved the later messages of this ticket to #%d.", split.ID))

	if _, err := fm.svc.MergeTickets(ctx, fm.sam, split.ID, id); err != nil {
		t.Fatal(err)
	}
	fm.inTopic(splitThread, fmt.Sprintf("Sam merged this ticket into #%d.", id))
	fm.inTopic(splitThread, "Sam set the status to Closed.")
	fm.inTopic(thread, fmt.Sprintf("Sam merged #%d into this ticket.", split.ID))
	eventually(t, expectWait, func() error {
		for _, tp := range fm.f.Topics(staffChat) {
			if tp.Thread == splitThread && tp.Closed {
				return nil
			}
		}
		return fmt.Errorf("topics %+v: the merged ticket's is not closed", fm.f.Topics(staffChat))
	})
	for _, tp := range fm.f.Topics(staffChat) {
		if tp.Thread == thread && tp.Closed {
			t.Errorf("the target's topic was closed")
		}
	}
}

// TestTopics_PlainGroupAsBefore: a staff chat that is no forum gets the alerts without
// topics, and none of the posts meant for topics.
func TestTopics_PlainGroupAsBefore(t *testing.T) {
	fm := newForum(t, false)
	id := fm.newTicket("Mail bounces", "Since Monday.")
	eventually(t, expectWait, func() error {
		for _, s := range fm.f.SentTo(staffChat) {
			if strings.Contains(s.Text, fmt.Sprintf("New ticket #%d", id)) {
				if s.Thread != 0 {
					return fmt.Errorf("the alert went to thread %d", s.Thread)
				}
				return nil
			}
		}
		return errors.New("no alert in the staff chat")
	})
	if _, err := fm.svc.StaffReply(ctx, fm.sam, id, core.NewReply{Body: "On it."}); err != nil {
		t.Fatal(err)
	}
	if _, err := fm.svc.SetStatus(ctx, fm.sam, core.TicketRef{ID: id}, core.StatusResolved); err != nil {
		t.Fatal(err)
	}
	// The activity is delivered (skipped for this chat) once the outbox is empty.
	eventually(t, expectWait, func() error {
		n, err := fm.db.OutboxDepth(ctx)
		if err == nil && n != 0 {
			err = fmt.Errorf("%d notifications pending", n)
		}
		return err
	})
	if topics := fm.f.Created(staffChat); topics != 0 {
		t.Errorf("%d topics made in a plain group", topics)
	}
	for _, s := range fm.sentTo(staffChat, 0) {
		if strings.Contains(s, "replied to the customer") || strings.Contains(s, "set the status") {
			t.Errorf("a plain group got a topic's post: %q", s)
		}
	}
}

// TestTopics_CloseButtonInTheTopic: a post in a topic has no Reply button (staff simply
// write there) but a Close button; pressing it closes the ticket and the topic, and the
// bot's answer stays in the topic.
func TestTopics_CloseButtonInTheTopic(t *testing.T) {
	fm := newForum(t, true)
	id := fm.newTicket("Backup failed", "Last night's backup failed.")
	thread := fm.topicOf(id)
	post := fm.inTopic(thread, fmt.Sprintf("New ticket #%d", id))
	if m := string(post.Markup); strings.Contains(m, "reply:") || !strings.Contains(m, fmt.Sprintf("close:%d", id)) {
		t.Fatalf("buttons %s, want Close and no Reply", m)
	}
	fm.f.Push(map[string]any{"callback_query": map[string]any{"id": "cb1", "data": fmt.Sprintf("close:%d", id),
		"from": map[string]any{"id": samTG.ID, "first_name": "Sam"},
		"message": map[string]any{"message_id": post.ID, "date": 0, "message_thread_id": thread, "is_topic_message": true,
			"chat": map[string]any{"id": staffChat, "type": "supergroup", "is_forum": true}}}})
	fm.inTopic(thread, fmt.Sprintf("Ticket #%d is closed.", id))
	fm.inTopic(thread, "Sam set the status to Closed.")
	eventually(t, expectWait, func() error {
		if topics := fm.f.Topics(staffChat); len(topics) != 1 || !topics[0].Closed {
			return fmt.Errorf("topics %+v, want the ticket's closed", topics)
		}
		return nil
	})
	for _, s := range fm.f.SentTo(staffChat) {
		if s.Thread == 0 {
			t.Errorf("a message went to the forum's General topic: %q", s.Text)
		}
	}
}

// TestTopics_WordsNotWrittenInTheTopicArePostedThere: a staff reply written to the bot in a
// private chat, and a canned reply sent from the topic (only its name was written there),
// are posted in the ticket's topic with their text, as a reply written in the panel is.
func TestTopics_WordsNotWrittenInTheTopicArePostedThere(t *testing.T) {
	fm := newForum(t, true)
	id := fm.newTicket("Renewal", "Please renew my domain for two years.")
	thread := fm.topicOf(id)
	fm.inTopic(thread, fmt.Sprintf("New ticket #%d", id))

	// Sam presses Reply on the ticket in a private chat with the bot, then writes.
	fm.f.Push(map[string]any{"callback_query": map[string]any{"id": "cb1", "data": fmt.Sprintf("reply:%d", id),
		"from":    map[string]any{"id": samTG.ID, "first_name": "Sam"},
		"message": map[string]any{"message_id": 1, "date": 0, "chat": map[string]any{"id": samTG.ID, "type": "private"}}}})
	eventually(t, expectWait, func() error {
		for _, s := range fm.sentTo(samTG.Chat, 0) {
			if strings.Contains(s, fmt.Sprintf("#%d", id)) {
				return nil
			}
		}
		return fmt.Errorf("Sam's chat has %q, not the prompt to answer #%d", fm.sentTo(samTG.Chat, 0), id)
	})
	fm.f.PushMessage(telegramtest.Message{From: samTG.ID, Text: "Renewed until 2028."})
	fm.inTopic(thread, "Sam replied to the customer:\n\nRenewed until 2028.")

	if _, err := fm.svc.CreateCannedReply(ctx, fm.sam, core.NewCannedReply{Name: "thanks", Body: "Thank you for staying with us."}); err != nil {
		t.Fatal(err)
	}
	fm.write(samTG.ID, thread, "/canned thanks")
	fm.inTopic(thread, "Sam replied to the customer:\n\nThank you for staying with us.")
	msgs := fm.staffTicket(id).Messages
	if len(msgs) != 3 || msgs[1].Body != "Renewed until 2028." || msgs[1].Author != core.AuthorStaff || msgs[2].Body != "Thank you for staying with us." {
		t.Fatalf("messages %+v, want the description and the two staff replies", msgs)
	}
}

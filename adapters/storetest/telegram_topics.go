package storetest

import (
	"sync"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

// The forum topics of tickets in the staff chat: a ticket has at most one topic in a chat,
// the first one recorded, and a topic belongs to one ticket.

// topicState is what TelegramTopic answers for a ticket in a chat.
type topicState struct {
	thread int64
	closed bool
}

func runTelegramTopics(t *testing.T, open Opener) {
	const chat, otherChat = -100, -200

	t.Run("Lifecycle", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		t1 := d.ticket(t, d.ann, core.NewTicket{}).ID
		t2 := d.ticket(t, d.bob, core.NewTicket{}).ID
		add := func(chatID, ticketID, thread int64) func() (int64, error) {
			return func() (int64, error) { return d.store.AddTelegramTopic(ctx, chatID, ticketID, thread) }
		}
		setClosed := func(chatID, ticketID, thread int64, closed bool) func() (int64, error) {
			return func() (int64, error) { return 0, d.store.SetTelegramTopicClosed(ctx, chatID, ticketID, thread, closed) }
		}
		forget := func(chatID, ticketID, thread int64) func() (int64, error) {
			return func() (int64, error) { return 0, d.store.ForgetTelegramTopic(ctx, chatID, ticketID, thread) }
		}
		steps := []struct {
			name     string
			do       func() (int64, error) // nil: only look
			want     int64                 // the thread an add returns
			wantCode string                // the error code the step fails with ("": none)
			topics   map[[2]int64]topicState
			tickets  map[[2]int64]int64 // (chat, thread) → ticket
		}{
			{name: "none yet",
				topics:  map[[2]int64]topicState{{chat, t1}: {}},
				tickets: map[[2]int64]int64{{chat, 500}: 0}},
			{name: "added", do: add(chat, t1, 500), want: 500,
				topics:  map[[2]int64]topicState{{chat, t1}: {500, false}, {chat, t2}: {}, {otherChat, t1}: {}},
				tickets: map[[2]int64]int64{{chat, 500}: t1, {chat, 501}: 0, {otherChat, 500}: 0}},
			{name: "added again with another thread keeps the first", do: add(chat, t1, 501), want: 500,
				topics:  map[[2]int64]topicState{{chat, t1}: {500, false}},
				tickets: map[[2]int64]int64{{chat, 500}: t1, {chat, 501}: 0}},
			{name: "the same thread in another chat is another topic", do: add(otherChat, t2, 500), want: 500,
				topics:  map[[2]int64]topicState{{chat, t1}: {500, false}, {chat, t2}: {}, {otherChat, t2}: {500, false}},
				tickets: map[[2]int64]int64{{chat, 500}: t1, {otherChat, 500}: t2}},
			{name: "a thread of another ticket", do: add(chat, t2, 500), wantCode: core.ECONFLICT,
				topics:  map[[2]int64]topicState{{chat, t1}: {500, false}, {chat, t2}: {}},
				tickets: map[[2]int64]int64{{chat, 500}: t1}},
			{name: "a ticket that does not exist", do: add(chat, 9999, 600), wantCode: core.ENOTFOUND,
				topics:  map[[2]int64]topicState{{chat, 9999}: {}},
				tickets: map[[2]int64]int64{{chat, 600}: 0}},
			{name: "closed", do: setClosed(chat, t1, 500, true),
				topics: map[[2]int64]topicState{{chat, t1}: {500, true}, {otherChat, t2}: {500, false}}},
			{name: "reopened for a stale thread changes nothing", do: setClosed(chat, t1, 501, false),
				topics: map[[2]int64]topicState{{chat, t1}: {500, true}}},
			{name: "forgotten for a stale thread changes nothing", do: forget(chat, t1, 501),
				topics:  map[[2]int64]topicState{{chat, t1}: {500, true}},
				tickets: map[[2]int64]int64{{chat, 500}: t1}},
			{name: "forgotten", do: forget(chat, t1, 500),
				topics:  map[[2]int64]topicState{{chat, t1}: {}, {otherChat, t2}: {500, false}},
				tickets: map[[2]int64]int64{{chat, 500}: 0, {otherChat, 500}: t2}},
			{name: "a new topic after forgetting is open", do: add(chat, t1, 502), want: 502,
				topics:  map[[2]int64]topicState{{chat, t1}: {502, false}},
				tickets: map[[2]int64]int64{{chat, 500}: 0, {chat, 502}: t1}},
			{name: "a forgotten thread is free for another ticket", do: add(chat, t2, 500), want: 500,
				topics:  map[[2]int64]topicState{{chat, t1}: {502, false}, {chat, t2}: {500, false}},
				tickets: map[[2]int64]int64{{chat, 500}: t2, {chat, 502}: t1}},
			{name: "closing one topic leaves the others", do: setClosed(chat, t2, 500, true),
				topics: map[[2]int64]topicState{{chat, t1}: {502, false}, {chat, t2}: {500, true}, {otherChat, t2}: {500, false}}},
			{name: "reopened", do: setClosed(chat, t2, 500, false),
				topics: map[[2]int64]topicState{{chat, t2}: {500, false}}},
		}
		for _, s := range steps {
			if s.do != nil {
				got, err := s.do()
				if s.wantCode != "" {
					wantCode(t, s.name, err, s.wantCode)
				} else if err != nil || got != s.want {
					t.Fatalf("%s: thread %d, %v; want %d", s.name, got, err, s.want)
				}
			}
			for key, want := range s.topics {
				thread, closed, err := d.store.TelegramTopic(ctx, key[0], key[1])
				if err != nil || (topicState{thread, closed}) != want {
					t.Errorf("%s: topic of ticket %d in chat %d: %d closed=%v, %v; want %d closed=%v",
						s.name, key[1], key[0], thread, closed, err, want.thread, want.closed)
				}
			}
			for key, want := range s.tickets {
				got, err := d.store.TelegramTopicTicket(ctx, key[0], key[1])
				if err != nil || got != want {
					t.Errorf("%s: ticket of topic %d in chat %d: %d, %v; want %d", s.name, key[1], key[0], got, err, want)
				}
			}
		}
	})

	// Nodes that post a ticket at once each make a topic; one is recorded and every node is
	// told that one.
	t.Run("ConcurrentAdds", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{}).ID
		const nodes = 8
		got := make([]int64, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() { got[i], errs[i] = d.store.AddTelegramTopic(ctx, chat, tk, int64(1000+i)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("add %d: %v", i, err)
			}
		}
		thread, closed, err := d.store.TelegramTopic(ctx, chat, tk)
		if err != nil || thread < 1000 || thread >= 1000+nodes || closed {
			t.Fatalf("topic after the race: %d closed=%v, %v; want one of the threads, open", thread, closed, err)
		}
		for i, g := range got {
			if g != thread {
				t.Errorf("add %d returned thread %d, want the recorded %d", i, g, thread)
			}
		}
		for i := range nodes {
			want := int64(0)
			if int64(1000+i) == thread {
				want = tk
			}
			if id, err := d.store.TelegramTopicTicket(ctx, chat, int64(1000+i)); err != nil || id != want {
				t.Errorf("ticket of thread %d: %d, %v; want %d", 1000+i, id, err, want)
			}
		}
	})
}

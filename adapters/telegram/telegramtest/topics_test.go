package telegramtest_test

import (
	"encoding/json"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
)

const forum = -1001

// newForum is a fake with forum a forum supergroup.
func newForum(t *testing.T) *telegramtest.Server {
	s := telegramtest.New(t, telegramtest.Options{})
	s.Forum(forum)
	return s
}

// createTopic makes a topic in forum and returns its thread.
func createTopic(t *testing.T, s *telegramtest.Server, name string) int64 {
	t.Helper()
	r := call(t, s.URL(), "createForumTopic", map[string]any{"chat_id": forum, "name": name})
	var topic struct {
		Thread int64 `json:"message_thread_id"`
	}
	if err := json.Unmarshal(r.Result, &topic); err != nil || topic.Thread == 0 {
		t.Fatalf("createForumTopic: %+v (%v)", r, err)
	}
	return topic.Thread
}

func TestCreateForumTopic_OnlyInAForum(t *testing.T) {
	s := newForum(t)
	s.Forum(77) // a private chat is never a forum
	for _, tc := range []struct {
		name string
		chat int64
		want string // description; "" for success
	}{
		{"forum", forum, ""},
		{"group never marked", -5, "Bad Request: the chat is not a forum"},
		{"private chat", 42, "Bad Request: the chat is not a forum"},
		{"private chat marked", 77, "Bad Request: the chat is not a forum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s.URL(), "createForumTopic", map[string]any{"chat_id": tc.chat, "name": "Ticket 1"})
			if r.Description != tc.want || (tc.want != "" && r.ErrorCode != 400) {
				t.Errorf("%+v, want %q", r, tc.want)
			}
			wantTopics := 0
			if tc.want == "" {
				wantTopics = 1
			}
			if got := len(s.Topics(tc.chat)); got != wantTopics || s.Created(tc.chat) != wantTopics {
				t.Errorf("%d topics, %d created; want %d", got, s.Created(tc.chat), wantTopics)
			}
		})
	}
}

func TestGetChat_KindFollowsTheIDAndForum(t *testing.T) {
	s := newForum(t)
	for _, tc := range []struct {
		chat    int64
		typ     string
		isForum bool
		title   bool
	}{
		{42, "private", false, false},
		{-5, "group", false, true},
		{forum, "supergroup", true, true},
	} {
		var c struct {
			ID        int64  `json:"id"`
			Type      string `json:"type"`
			IsForum   bool   `json:"is_forum"`
			Title     string `json:"title"`
			FirstName string `json:"first_name"`
		}
		r := call(t, s.URL(), "getChat", map[string]any{"chat_id": tc.chat})
		if err := json.Unmarshal(r.Result, &c); err != nil {
			t.Fatal(err)
		}
		if c.ID != tc.chat || c.Type != tc.typ || c.IsForum != tc.isForum || (c.Title != "") != tc.title || (c.FirstName != "") == tc.title {
			t.Errorf("chat %d: %s; want type %s, is_forum %v, title %v", tc.chat, r.Result, tc.typ, tc.isForum, tc.title)
		}
	}
}

func TestForumTopics_CloseReopenEditAsTelegramDoes(t *testing.T) {
	s := newForum(t)
	thread := createTopic(t, s, "Ticket 12")
	for _, tc := range []struct {
		method string
		thread int64
		name   any    // editForumTopic's name; nil: not sent
		want   string // description; "" for success
		closed bool   // the topic's state after the call
		named  string // and its name
	}{
		{"closeForumTopic", thread, nil, "", true, "Ticket 12"},
		{"closeForumTopic", thread, nil, "Bad Request: TOPIC_NOT_MODIFIED", true, "Ticket 12"},
		{"editForumTopic", thread, "Ticket 12 (closed)", "", true, "Ticket 12 (closed)"},
		{"editForumTopic", thread, nil, "", true, "Ticket 12 (closed)"},
		{"reopenForumTopic", thread, nil, "", false, "Ticket 12 (closed)"},
		{"reopenForumTopic", thread, nil, "Bad Request: TOPIC_NOT_MODIFIED", false, "Ticket 12 (closed)"},
		{"closeForumTopic", thread + 1, nil, "Bad Request: TOPIC_ID_INVALID", false, "Ticket 12 (closed)"},
		{"reopenForumTopic", thread + 1, nil, "Bad Request: TOPIC_ID_INVALID", false, "Ticket 12 (closed)"},
		{"editForumTopic", thread + 1, "x", "Bad Request: TOPIC_ID_INVALID", false, "Ticket 12 (closed)"},
		{"deleteForumTopic", thread + 1, nil, "Bad Request: TOPIC_ID_INVALID", false, "Ticket 12 (closed)"},
	} {
		p := map[string]any{"chat_id": forum, "message_thread_id": tc.thread}
		if tc.name != nil {
			p["name"] = tc.name
		}
		r := call(t, s.URL(), tc.method, p)
		if r.Description != tc.want || (tc.want != "" && r.ErrorCode != 400) || (tc.want == "" && string(r.Result) != "true") {
			t.Errorf("%s thread %d: %+v, want %q", tc.method, tc.thread, r, tc.want)
		}
		if got := s.Topics(forum); len(got) != 1 || got[0].Closed != tc.closed || got[0].Name != tc.named {
			t.Errorf("after %s thread %d: topics %+v, want closed %v named %q", tc.method, tc.thread, got, tc.closed, tc.named)
		}
	}
}

func TestSendMessage_TheBotWritesInAClosedTopic(t *testing.T) {
	s := newForum(t)
	thread := createTopic(t, s, "Ticket 12")
	call(t, s.URL(), "closeForumTopic", map[string]any{"chat_id": forum, "message_thread_id": thread})
	if r := call(t, s.URL(), "sendMessage", map[string]any{"chat_id": forum, "message_thread_id": thread, "text": "x"}); !r.OK {
		t.Errorf("sendMessage to a closed topic: %+v", r)
	}
}

func TestForumTopics_DeletedTopicIsGoneAndMadeAnew(t *testing.T) {
	for _, tc := range []struct {
		name   string
		delete func(t *testing.T, s *telegramtest.Server, thread int64)
	}{
		{"by the bot", func(t *testing.T, s *telegramtest.Server, thread int64) {
			if r := call(t, s.URL(), "deleteForumTopic", map[string]any{"chat_id": forum, "message_thread_id": thread}); !r.OK {
				t.Fatalf("deleteForumTopic: %+v", r)
			}
		}},
		{"by hand", func(t *testing.T, s *telegramtest.Server, thread int64) {
			if !s.DeleteTopic(forum, thread) {
				t.Fatal("DeleteTopic found no topic")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newForum(t)
			thread := createTopic(t, s, "Ticket 12")
			other := createTopic(t, s, "Ticket 13")
			tc.delete(t, s, thread)
			if got := s.Topics(forum); len(got) != 1 || got[0].Thread != other || s.Created(forum) != 2 {
				t.Errorf("topics %+v, %d created; want only %d, 2 created", got, s.Created(forum), other)
			}
			r := call(t, s.URL(), "sendMessage", map[string]any{"chat_id": forum, "message_thread_id": thread, "text": "x"})
			if r.ErrorCode != 400 || r.Description != "Bad Request: message thread not found" {
				t.Errorf("sendMessage to the deleted topic: %+v", r)
			}
			if s.DeleteTopic(forum, thread) {
				t.Error("DeleteTopic deleted a deleted topic")
			}
			if again := createTopic(t, s, "Ticket 12"); again == thread || s.Created(forum) != 3 || len(s.Topics(forum)) != 2 {
				t.Errorf("made anew as thread %d (was %d), %d created, topics %+v", again, thread, s.Created(forum), s.Topics(forum))
			}
		})
	}
}

func TestPushMessage_RepliesAndForumsAsTelegramSendsThem(t *testing.T) {
	s := newForum(t)
	thread := createTopic(t, s, "Ticket 12")
	r := call(t, s.URL(), "sendMessage", map[string]any{"chat_id": forum, "message_thread_id": thread, "text": "Ticket 12 opened"})
	var sent struct {
		ID int64 `json:"message_id"`
	}
	json.Unmarshal(r.Result, &sent)
	type replyTo struct {
		ID   int64  `json:"message_id"`
		Text string `json:"text"`
		From struct {
			ID    int64 `json:"id"`
			IsBot bool  `json:"is_bot"`
		} `json:"from"`
		Created *struct {
			Name string `json:"name"`
		} `json:"forum_topic_created"`
	}
	for _, tc := range []struct {
		name    string
		m       telegramtest.Message
		typ     string
		isForum bool
		replyTo int64  // reply_to_message.message_id; 0: none
		service bool   // it is the topic's service message
		created string // with forum_topic_created.name
		text    string // its text
	}{
		{"private chat", telegramtest.Message{From: 9}, "private", false, 0, false, "", ""},
		{"private reply", telegramtest.Message{From: 9, ReplyTo: 4}, "private", false, 4, false, "", ""},
		{"group", telegramtest.Message{From: 9, Chat: -5}, "group", false, 0, false, "", ""},
		{"forum, general topic", telegramtest.Message{From: 9, Chat: forum}, "supergroup", true, 0, false, "", ""},
		{"in a topic", telegramtest.Message{From: 9, Chat: forum, Thread: thread}, "supergroup", true, thread, true, "Ticket 12", ""},
		{"reply in a topic", telegramtest.Message{From: 9, Chat: forum, Thread: thread, ReplyTo: sent.ID}, "supergroup", true, sent.ID, false, "", "Ticket 12 opened"},
		{"topic in a chat never marked", telegramtest.Message{From: 9, Chat: -6, Thread: 99}, "supergroup", true, 99, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upd := s.PushMessage(tc.m)
			var got []struct {
				Message struct {
					Chat struct {
						Type    string `json:"type"`
						IsForum bool   `json:"is_forum"`
					} `json:"chat"`
					ReplyTo *replyTo `json:"reply_to_message"`
				} `json:"message"`
			}
			r := call(t, s.URL(), "getUpdates", map[string]any{"offset": upd})
			if err := json.Unmarshal(r.Result, &got); err != nil || len(got) != 1 {
				t.Fatalf("updates %s (%v)", r.Result, err)
			}
			m := got[0].Message
			if m.Chat.Type != tc.typ || m.Chat.IsForum != tc.isForum {
				t.Errorf("chat %+v, want type %s, is_forum %v", m.Chat, tc.typ, tc.isForum)
			}
			switch rt := m.ReplyTo; {
			case tc.replyTo == 0:
				if rt != nil {
					t.Errorf("reply_to_message %+v, want none", rt)
				}
			case rt == nil:
				t.Errorf("no reply_to_message, want %d", tc.replyTo)
			case rt.ID != tc.replyTo || rt.From.ID != 1 || !rt.From.IsBot || rt.Text != tc.text ||
				(rt.Created != nil) != tc.service || (rt.Created != nil && rt.Created.Name != tc.created):
				t.Errorf("reply_to_message %+v, want %d from the bot, text %q, topic %q", rt, tc.replyTo, tc.text, tc.created)
			}
		})
	}
}

package telegramtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
)

// reply is the Bot API's envelope.
type reply struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func call(t *testing.T, base, method string, p map[string]any) reply {
	t.Helper()
	body, _ := json.Marshal(p)
	resp, err := http.Post(base+"/bot1:token/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.OK != (resp.StatusCode == http.StatusOK) || (!r.OK && r.ErrorCode != resp.StatusCode) {
		t.Fatalf("%s: status %d with %+v", method, resp.StatusCode, r)
	}
	return r
}

func updateIDs(t *testing.T, r reply) []int64 {
	t.Helper()
	var list []struct {
		ID int64 `json:"update_id"`
	}
	if err := json.Unmarshal(r.Result, &list); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, u := range list {
		ids = append(ids, u.ID)
	}
	return ids
}

func TestGetUpdates_ReplaysFromTheOffsetAndForgetsWhatItConfirms(t *testing.T) {
	s := telegramtest.New(t, telegramtest.Options{})
	for _, text := range []string{"one", "two", "three"} {
		s.PushMessage(telegramtest.Message{From: 7, Text: text})
	}
	for _, tc := range []struct {
		offset  int64
		want    string
		pending int
	}{
		{0, "[1 2 3]", 3},
		{0, "[1 2 3]", 3}, // fetched, not confirmed: handed out again
		{2, "[2 3]", 2},
		{1, "[2 3]", 2}, // 1 is forgotten
		{4, "[]", 0},
	} {
		got := updateIDs(t, call(t, s.URL(), "getUpdates", map[string]any{"offset": tc.offset}))
		if fmt.Sprint(got) != tc.want || s.Pending() != tc.pending {
			t.Errorf("offset %d: updates %v, %d pending; want %s, %d", tc.offset, got, s.Pending(), tc.want, tc.pending)
		}
	}
}

func TestSendMessage_FailNextAnswersInTurn(t *testing.T) {
	s := telegramtest.New(t, telegramtest.Options{})
	s.FailNext(5, telegramtest.Failure{}, telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 3", RetryAfter: 3},
		telegramtest.Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"})
	for i, want := range []struct {
		code       int
		retryAfter int
	}{{0, 0}, {429, 3}, {403, 0}, {0, 0}} {
		r := call(t, s.URL(), "sendMessage", map[string]any{"chat_id": 5, "text": "hi"})
		if r.ErrorCode != want.code || r.Parameters.RetryAfter != want.retryAfter {
			t.Errorf("call %d: %+v, want code %d retry_after %d", i, r, want.code, want.retryAfter)
		}
	}
	if sent := s.SentTo(5); len(sent) != 2 || sent[0].ID == sent[1].ID {
		t.Errorf("sent %+v, want the two calls that went through", sent)
	}
}

func TestForumTopics_MessagesGoToTheTopicMade(t *testing.T) {
	s := telegramtest.New(t, telegramtest.Options{})
	s.Forum(forum)
	r := call(t, s.URL(), "createForumTopic", map[string]any{"chat_id": forum, "name": "Ticket 12"})
	var topic struct {
		Thread int64 `json:"message_thread_id"`
	}
	json.Unmarshal(r.Result, &topic)
	if topics := s.Topics(forum); len(topics) != 1 || topics[0].Thread != topic.Thread || topics[0].Name != "Ticket 12" {
		t.Fatalf("topics %+v, answer %s", topics, r.Result)
	}
	for _, tc := range []struct {
		thread int64
		code   int
	}{{topic.Thread, 0}, {topic.Thread + 1, 400}} {
		if r := call(t, s.URL(), "sendMessage", map[string]any{"chat_id": forum, "message_thread_id": tc.thread, "text": "x"}); r.ErrorCode != tc.code {
			t.Errorf("thread %d: %+v, want code %d", tc.thread, r, tc.code)
		}
	}
	if sent := s.SentTo(forum); len(sent) != 1 || sent[0].Thread != topic.Thread {
		t.Errorf("sent %+v", sent)
	}
	if r := call(t, s.URL(), "createForumTopic", map[string]any{"chat_id": 42, "name": "x"}); r.ErrorCode != 400 {
		t.Errorf("topic in a private chat: %+v", r)
	}
	s.PushMessage(telegramtest.Message{From: 9, Chat: forum, Thread: topic.Thread, Text: "in the topic"})
	var got []struct {
		Message struct {
			Thread int64 `json:"message_thread_id"`
			Chat   struct {
				IsForum bool `json:"is_forum"`
			} `json:"chat"`
		} `json:"message"`
	}
	json.Unmarshal(call(t, s.URL(), "getUpdates", nil).Result, &got)
	if len(got) != 1 || got[0].Message.Thread != topic.Thread || !got[0].Message.Chat.IsForum {
		t.Errorf("update %+v", got)
	}
}

func TestGetFile_ThenDownload(t *testing.T) {
	s := telegramtest.New(t, telegramtest.Options{})
	s.AddFile("f1", []byte("photo bytes"))
	var file struct {
		Path string `json:"file_path"`
	}
	json.Unmarshal(call(t, s.URL(), "getFile", map[string]any{"file_id": "f1"}).Result, &file)
	resp, err := http.Get(s.URL() + "/file/bot1:token/" + file.Path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(data) != "photo bytes" {
		t.Errorf("downloaded %q from %q", data, file.Path)
	}
	if r := call(t, s.URL(), "getFile", map[string]any{"file_id": "nope"}); r.ErrorCode != 400 {
		t.Errorf("unknown file: %+v", r)
	}
}

func TestDropping_EveryCallFailsInTheTransport(t *testing.T) {
	if resp, err := http.Get(telegramtest.Dropping(t) + "/bot1:token/getMe"); err == nil {
		resp.Body.Close()
		t.Fatalf("status %d, want a transport error", resp.StatusCode)
	}
}

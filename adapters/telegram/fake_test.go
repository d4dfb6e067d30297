package telegram_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeAPI is an in-process Bot API for what the telegram-test-api emulator cannot do:
//   - getFile and file downloads (the emulator has neither): served here, everything else
//     is passed on to the emulator when upstream is set;
//   - offset semantics (the emulator hands each update out once and ignores offset, so it
//     cannot redeliver what was fetched but not confirmed): the crash tests use the fake
//     alone;
//   - a 429 with retry_after, and a chat that blocked the bot.
type fakeAPI struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu         sync.Mutex
	files      map[string][]byte
	updates    []map[string]any // pending, in update_id order
	nextUpdate int
	nextMsg    int64
	sent       []fakeSent
	fail       map[int64][]fakeFailure // chat → answers to its next sendMessage calls
	polls      int
}

type fakeSent struct {
	Chat    int64
	ID      int64
	Text    string
	Markup  json.RawMessage
	ReplyTo int64
}

type fakeFailure struct {
	Code        int
	Description string
	RetryAfter  int
}

func newFakeAPI(t *testing.T, upstream string) *fakeAPI {
	f := &fakeAPI{files: map[string][]byte{}, fail: map[int64][]fakeFailure{}, nextUpdate: 1, nextMsg: 1}
	if upstream != "" {
		u, err := url.Parse(upstream)
		if err != nil {
			t.Fatal(err)
		}
		f.proxy = httputil.NewSingleHostReverseProxy(u)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) URL() string { return f.srv.URL }

func (f *fakeAPI) addFile(id string, data []byte) {
	f.mu.Lock()
	f.files[id] = data
	f.mu.Unlock()
}

// push queues an update (its update_id is set here) and returns its ID.
func (f *fakeAPI) push(u map[string]any) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.nextUpdate
	f.nextUpdate++
	u["update_id"] = id
	f.updates = append(f.updates, u)
	return id
}

func (f *fakeAPI) failNext(chat int64, ff ...fakeFailure) {
	f.mu.Lock()
	f.fail[chat] = append(f.fail[chat], ff...)
	f.mu.Unlock()
}

func (f *fakeAPI) sentTo(chat int64) []fakeSent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeSent
	for _, s := range f.sent {
		if s.Chat == chat {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeAPI) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.updates)
}

func ok(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if rest, found := strings.CutPrefix(r.URL.Path, "/file/bot"); found {
		_, path, _ := strings.Cut(rest, "/")
		f.mu.Lock()
		data, exists := f.files[strings.TrimPrefix(path, "files/")]
		f.mu.Unlock()
		if !exists {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
		return
	}
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	body, _ := io.ReadAll(r.Body)
	var p map[string]any
	json.Unmarshal(body, &p)
	if method == "getFile" {
		id := fmt.Sprint(p["file_id"])
		f.mu.Lock()
		data, exists := f.files[id]
		f.mu.Unlock()
		if !exists {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"})
			return
		}
		ok(w, map[string]any{"file_id": id, "file_size": len(data), "file_path": "files/" + id})
		return
	}
	if f.proxy != nil {
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		f.proxy.ServeHTTP(w, r)
		return
	}
	switch method {
	case "getUpdates":
		offset := int(num(p["offset"]))
		f.mu.Lock()
		f.polls++
		// Asking from offset confirms everything before it: Telegram forgets those.
		keep := f.updates[:0]
		for _, u := range f.updates {
			if int(num(u["update_id"])) >= offset {
				keep = append(keep, u)
			}
		}
		f.updates = keep
		out := append([]map[string]any{}, f.updates...)
		f.mu.Unlock()
		ok(w, out)
	case "sendMessage":
		chat := int64(num(p["chat_id"]))
		f.mu.Lock()
		if list := f.fail[chat]; len(list) > 0 && list[0].Code == 0 {
			f.fail[chat] = list[1:] // this call goes through
		} else if len(list) > 0 {
			ff := list[0]
			f.fail[chat] = list[1:]
			f.mu.Unlock()
			resp := map[string]any{"ok": false, "error_code": ff.Code, "description": ff.Description}
			if ff.RetryAfter > 0 {
				resp["parameters"] = map[string]any{"retry_after": ff.RetryAfter}
			}
			w.WriteHeader(ff.Code)
			json.NewEncoder(w).Encode(resp)
			return
		}
		id := f.nextMsg
		f.nextMsg++
		markup, _ := json.Marshal(p["reply_markup"])
		f.sent = append(f.sent, fakeSent{Chat: chat, ID: id, Text: fmt.Sprint(p["text"]), Markup: markup, ReplyTo: int64(num(p["reply_to_message_id"]))})
		f.mu.Unlock()
		ok(w, map[string]any{"message_id": id, "date": 0, "chat": map[string]any{"id": chat, "type": "private"}, "text": p["text"]})
	case "answerCallbackQuery":
		ok(w, true)
	default:
		w.WriteHeader(404)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 404, "description": "Not Found: " + method})
	}
}

func num(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case string:
		var f float64
		fmt.Sscan(n, &f)
		return f
	}
	return 0
}

package telegramtest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

func (s *Server) download(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	data, exists := s.files[id]
	s.mu.Unlock()
	if !exists {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

func (s *Server) getFile(w http.ResponseWriter, p map[string]any) {
	id := fmt.Sprint(p["file_id"])
	s.mu.Lock()
	data, exists := s.files[id]
	s.mu.Unlock()
	if !exists {
		fail(w, http.StatusBadRequest, "Bad Request: invalid file_id", 0)
		return
	}
	ok(w, map[string]any{"file_id": id, "file_size": len(data), "file_path": "files/" + id})
}

func (s *Server) getUpdates(w http.ResponseWriter, p map[string]any) {
	offset := num(p["offset"])
	s.mu.Lock()
	// Asking from offset confirms everything before it: Telegram forgets those.
	keep := s.updates[:0]
	for _, u := range s.updates {
		if num(u["update_id"]) >= offset {
			keep = append(keep, u)
		}
	}
	s.updates = keep
	out := append([]map[string]any{}, s.updates...)
	s.mu.Unlock()
	ok(w, out)
}

func (s *Server) sendMessage(w http.ResponseWriter, p map[string]any) {
	chat, thread := num(p["chat_id"]), num(p["message_thread_id"])
	s.mu.Lock()
	defer s.mu.Unlock()
	if list := s.fail[chat]; len(list) > 0 {
		s.fail[chat] = list[1:]
		if ff := list[0]; ff.Code != 0 {
			fail(w, ff.Code, ff.Description, ff.RetryAfter)
			return
		}
	}
	// A closed topic takes the bot's messages all the same: the bot is an admin with
	// can_manage_topics, whom Telegram lets write in closed topics; it refuses only members
	// without that right, and the fake has no such sender.
	if thread != 0 && s.topic(chat, thread) < 0 {
		fail(w, http.StatusBadRequest, "Bad Request: message thread not found", 0)
		return
	}
	id := s.nextMsg
	s.nextMsg++
	markup, _ := json.Marshal(p["reply_markup"])
	s.sent = append(s.sent, Sent{Chat: chat, ID: id, Thread: thread, Text: fmt.Sprint(p["text"]), Markup: markup,
		ReplyTo: num(p["reply_to_message_id"])})
	m := map[string]any{"message_id": id, "date": 0, "chat": s.chat(chat, thread), "text": p["text"]}
	if thread != 0 {
		m["message_thread_id"] = thread
		m["is_topic_message"] = true
	}
	ok(w, m)
}

// params reads a call's parameters the ways the Bot API takes them: a JSON body, a form, or
// the query string.
func params(r *http.Request, body []byte) (map[string]any, error) {
	p := map[string]any{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case len(body) == 0:
	case ct == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range form {
			p[k] = v[0]
		}
	default:
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// num reads an integer parameter, which clients send as a JSON number or a string.
func num(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int:
		return int64(n)
	case int64:
		return n
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

func ok(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

// fail answers as the Bot API does when a call fails; retryAfter (seconds) is sent as
// parameters.retry_after when set.
func fail(w http.ResponseWriter, code int, description string, retryAfter int) {
	resp := map[string]any{"ok": false, "error_code": code, "description": description}
	if retryAfter > 0 {
		resp["parameters"] = map[string]any{"retry_after": retryAfter}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(resp)
}

// stormed answers a call the storm refuses, and reports whether it did. Telegram floods a
// bot out of every method that writes to a chat, and getChat with them.
func (s *Server) stormed(w http.ResponseWriter, method string) bool {
	switch method {
	case "sendMessage", "createForumTopic", "closeForumTopic", "reopenForumTopic", "editForumTopic", "deleteForumTopic", "getChat":
	default:
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !time.Now().Before(s.stormUntil) {
		return false
	}
	s.storms++
	fail(w, http.StatusTooManyRequests, fmt.Sprintf("Too Many Requests: retry after %d", s.stormAfter), s.stormAfter)
	return true
}

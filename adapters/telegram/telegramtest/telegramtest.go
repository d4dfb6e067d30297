// Package telegramtest is an in-process fake of the Telegram Bot API for tests, for what the
// telegram-test-api emulator (the npm package that scripts/test.sh starts, found through
// HELPDESKD_TEST_TELEGRAM_API) cannot do. Everything the emulator can do is tested against
// the emulator; this fake covers only:
//   - offsets replayed: like Telegram, getUpdates hands out every update from the offset
//     asked for and forgets those before it, so an update fetched but not confirmed comes
//     again (the emulator hands each update out once, whatever the offset);
//   - getFile and file downloads (the emulator has neither), also in front of the emulator:
//     with Options.Emulator set, every other call is passed on to it;
//   - sendMessage answered with a 429 and retry_after, or with any other error, such as a
//     chat that blocked the bot (FailNext);
//   - forum topics: Forum makes a group a forum supergroup, the only kind of chat where
//     createForumTopic makes topics; closeForumTopic and reopenForumTopic (each refusing
//     with TOPIC_NOT_MODIFIED a topic already so), editForumTopic and deleteForumTopic;
//     DeleteTopic, a topic deleted by hand, after which sending to it fails as Telegram's
//     "message thread not found"; Topics and Created to see what the bot did;
//   - message_thread_id in sent and received messages, and in received ones the
//     reply_to_message Telegram puts on every message in a topic: the topic's service
//     message, unless the user answered another message;
//   - getChat for any chat ID: private, group or forum supergroup (is_forum);
//   - dropped connections: Dropping is a Bot API whose line drops on every request.
//
// It knows nothing of helpdeskd.
package telegramtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server; the zero value is a fake that answers every call itself.
type Options struct {
	// Emulator is the URL of a telegram-test-api emulator: when set, the fake serves only
	// getFile and file downloads and passes every other call on to it.
	Emulator string
}

// Server is a fake Bot API on loopback, closed when the test ends. Its methods may be called
// from any goroutine.
type Server struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu         sync.Mutex
	files      map[string][]byte
	updates    []map[string]any // not yet confirmed, in update_id order
	nextUpdate int64
	nextMsg    int64
	sent       []Sent
	fail       map[int64][]Failure // chat → answers to its next sendMessage calls
	// stormUntil, while in the future, answers every sendMessage 429 with stormAfter.
	stormUntil time.Time
	stormAfter int
	storms     int               // calls the storm refused
	topics     map[int64][]Topic // chat → its forum topics, deleted ones gone
	forums     map[int64]bool    // the chats Forum made forums
	created    map[int64]int     // chat → topics createForumTopic made there
}

// Sent is a message the bot sent, as the fake recorded it.
type Sent struct {
	Chat    int64
	ID      int64
	Thread  int64 // message_thread_id: the forum topic it went to, 0 for none
	Text    string
	Markup  json.RawMessage // reply_markup as sent
	ReplyTo int64
}

// Failure is the fake's answer to one sendMessage call: the zero Failure lets the call
// through; otherwise the call fails with Code and Description, and with
// parameters.retry_after when RetryAfter (seconds) is set, as Telegram's 429 does.
type Failure struct {
	Code        int
	Description string
	RetryAfter  int
}

// New starts a fake Bot API; it stops when the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := &Server{files: map[string][]byte{}, fail: map[int64][]Failure{}, topics: map[int64][]Topic{},
		forums: map[int64]bool{}, created: map[int64]int{}, nextUpdate: 1, nextMsg: 1}
	if opts.Emulator != "" {
		u, err := url.Parse(opts.Emulator)
		if err != nil {
			tb.Fatalf("telegramtest: emulator URL: %v", err)
		}
		s.proxy = httputil.NewSingleHostReverseProxy(u)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the API's base URL, for the bot's api_url.
func (s *Server) URL() string { return s.srv.URL }

// AddFile makes data downloadable under the file ID id (getFile, then /file/bot<token>/…).
func (s *Server) AddFile(id string, data []byte) {
	s.mu.Lock()
	s.files[id] = data
	s.mu.Unlock()
}

// Push queues an update (such as {"message": {…}}), sets its update_id and returns it.
func (s *Server) Push(update map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextUpdate
	s.nextUpdate++
	update["update_id"] = id
	s.updates = append(s.updates, update)
	return id
}

// Pending is the number of updates the bot has not confirmed yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// FailNext sets the answers to chat's next sendMessage calls, one Failure per call.
func (s *Server) FailNext(chat int64, ff ...Failure) {
	s.mu.Lock()
	s.fail[chat] = append(s.fail[chat], ff...)
	s.mu.Unlock()
}

// Storm answers every sendMessage, forum topic call and getChat with a 429 and
// retry_after (seconds) for d from now, as Telegram does to a bot it floods out: what no
// emulator can be made to do.
func (s *Server) Storm(d time.Duration, retryAfter int) {
	s.mu.Lock()
	s.stormUntil, s.stormAfter = time.Now().Add(d), retryAfter
	s.mu.Unlock()
}

// Refused is how many calls a storm has answered with a 429.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storms
}

// SentTo returns the messages sent to chat, in order.
func (s *Server) SentTo(chat int64) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sent
	for _, m := range s.sent {
		if m.Chat == chat {
			out = append(out, m)
		}
	}
	return out
}

// Sent returns every message sent, in order.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if rest, found := strings.CutPrefix(r.URL.Path, "/file/bot"); found {
		_, path, _ := strings.Cut(rest, "/")
		s.download(w, r, strings.TrimPrefix(path, "files/"))
		return
	}
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	body, _ := io.ReadAll(r.Body)
	if method != "getFile" && s.proxy != nil {
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		s.proxy.ServeHTTP(w, r)
		return
	}
	p, err := params(r, body)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
		return
	}
	if s.stormed(w, method) {
		return
	}
	switch method {
	case "getFile":
		s.getFile(w, p)
	case "getUpdates":
		s.getUpdates(w, p)
	case "sendMessage":
		s.sendMessage(w, p)
	case "createForumTopic":
		s.createForumTopic(w, p)
	case "closeForumTopic":
		s.closeForumTopic(w, p)
	case "reopenForumTopic":
		s.reopenForumTopic(w, p)
	case "editForumTopic":
		s.editForumTopic(w, p)
	case "deleteForumTopic":
		s.deleteForumTopic(w, p)
	case "getChat":
		s.getChat(w, p)
	case "answerCallbackQuery":
		ok(w, true)
	case "getMe":
		ok(w, bot)
	default:
		fail(w, http.StatusNotFound, "Not Found: "+method, 0)
	}
}

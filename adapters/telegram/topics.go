package telegram

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// Forum topics: when the staff chat is a forum supergroup, each ticket gets a topic of its
// own, "#<id> <subject>", made when the ticket's first post goes out and remembered
// (TopicStore). Every post of the ticket goes there; the topic is closed with the ticket
// and reopened with it; a topic deleted by hand is made again at the next post.

// TopicsMode says whether the staff chat's tickets get forum topics ([telegram]
// staff_topics).
type TopicsMode string

const (
	// TopicsAuto uses topics when the staff chat is a forum (getChat's is_forum, asked
	// again every forumRecheck, so a group turned into a forum is noticed).
	TopicsAuto TopicsMode = ""
	// TopicsOn uses them whatever getChat says.
	TopicsOn TopicsMode = "on"
)

// forumRecheck is how long the answer to "is the staff chat a forum?" is kept.
const forumRecheck = 10 * time.Minute

// topics posts tickets' messages in their topics of the staff chat.
type topics struct {
	c     *client
	store TopicStore
	chat  int64
	mode  TopicsMode
	log   *slog.Logger

	mu      sync.Mutex
	forum   bool
	checked time.Time // when forum was learnt (zero: never)
}

// enabled reports whether the staff chat gets topics now. An error is a question Telegram
// could not answer (429, 5xx, no connection): the post is tried again later.
func (t *topics) enabled() (bool, error) {
	if t.mode == TopicsOn {
		return true, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.checked.IsZero() && time.Since(t.checked) < forumRecheck {
		return t.forum, nil
	}
	var chat struct {
		IsForum bool `json:"is_forum"`
	}
	err := t.c.call("getChat", map[string]any{"chat_id": t.chat}, &chat)
	var ae *apiError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Answered && ae.Code != http.StatusTooManyRequests && (ae.Code < 500):
		// The API will not say (one without getChat, a chat the bot cannot see): posts go
		// to the chat as they always did. A 429 or 5xx is asked again.
		t.log.Warn("telegram getChat of the staff chat refused; posting without topics", "chat", t.chat, "err", err)
		chat.IsForum = false
	default:
		return false, err
	}
	if chat.IsForum != t.forum || t.checked.IsZero() {
		t.log.Info("telegram staff chat", "chat", t.chat, "forum_topics", chat.IsForum)
	}
	t.forum, t.checked = chat.IsForum, time.Now()
	return t.forum, nil
}

// Telegram's words for a topic that is gone, closed, or already as asked: the Bot API
// tells these apart only by its description.
func topicGone(err error) bool {
	return apiSays(err, "message thread not found", "topic_id_invalid", "topic_deleted")
}
func topicClosed(err error) bool      { return apiSays(err, "topic_closed") }
func topicNotModified(err error) bool { return apiSays(err, "topic_not_modified") }

func apiSays(err error, words ...string) bool {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != http.StatusBadRequest {
		return false
	}
	d := strings.ToLower(ae.Description)
	for _, w := range words {
		if strings.Contains(d, w) {
			return true
		}
	}
	return false
}

// post delivers m, a post of ticket, in the ticket's topic: made if it has none (or its
// topic was deleted), reopened first when th.Reopen, closed after when th.Close.
func (s *Sender) postInTopic(ctx context.Context, ticket int64, th gateway.Thread, m message) error {
	t := s.topics
	thread, closed, err := s.store.TelegramTopic(ctx, t.chat, ticket)
	if err != nil {
		return err
	}
	if thread == 0 {
		if thread, err = s.makeTopic(ctx, ticket, th.Name); err != nil {
			return err
		}
		closed = false
	}
	if closed && th.Reopen {
		err := s.topicCall(ctx, "reopenForumTopic", thread)
		switch {
		case err == nil, topicNotModified(err):
			s.markTopic(ctx, ticket, thread, false)
		case topicGone(err):
			s.forgetTopic(ctx, ticket, thread)
			if thread, err = s.makeTopic(ctx, ticket, th.Name); err != nil {
				return err
			}
		default:
			return deliveryError(err)
		}
	}
	m.thread = thread
	sent, err := s.sendParts(ctx, m)
	if err != nil && sent == 0 {
		switch {
		case topicGone(err):
			// Deleted by hand: the ticket gets a new topic, and the post goes there.
			s.forgetTopic(ctx, ticket, thread)
			if m.thread, err = s.makeTopic(ctx, ticket, th.Name); err != nil {
				return err
			}
			thread = m.thread
			_, err = s.sendParts(ctx, m)
		case topicClosed(err):
			// Closed by hand in Telegram, or the bot may not write in closed topics.
			if rerr := s.topicCall(ctx, "reopenForumTopic", thread); rerr != nil && !topicNotModified(rerr) {
				return deliveryError(rerr)
			}
			s.markTopic(ctx, ticket, thread, false)
			_, err = s.sendParts(ctx, m)
		}
	}
	if err != nil {
		return err
	}
	if th.Close {
		// The post is out: from here nothing is handed back, or it would be sent twice.
		s.closeTopic(ctx, ticket, thread)
	}
	return nil
}

// makeTopic creates the ticket's topic and records it. When another node recorded one
// first, that one is kept and the new one deleted.
func (s *Sender) makeTopic(ctx context.Context, ticket int64, name string) (int64, error) {
	t := s.topics
	if err := s.pace.wait(ctx, t.chat); err != nil {
		return 0, err
	}
	var made struct {
		Thread int64 `json:"message_thread_id"`
	}
	if err := s.c.call("createForumTopic", map[string]any{"chat_id": t.chat, "name": name}, &made); err != nil {
		return 0, s.held(deliveryError(err))
	}
	if made.Thread == 0 {
		return 0, errors.New("telegram createForumTopic answered no message_thread_id")
	}
	kept, err := s.store.AddTelegramTopic(ctx, t.chat, ticket, made.Thread)
	if err != nil {
		s.dropTopic(made.Thread)
		return 0, err
	}
	if kept != made.Thread {
		s.dropTopic(made.Thread)
	}
	return kept, nil
}

// dropTopic deletes a topic the desk made but does not use; one left over is only clutter.
func (s *Sender) dropTopic(thread int64) {
	err := s.c.call("deleteForumTopic", map[string]any{"chat_id": s.topics.chat, "message_thread_id": thread}, nil)
	if err != nil {
		s.log.Warn("telegram topic made twice not deleted", "chat", s.topics.chat, "thread", thread, "err", err)
	}
}

// closeTopic closes the ticket's topic after its last post. A 429 is waited out (briefly,
// a few times); failing that the topic stays open, which loses nothing.
func (s *Sender) closeTopic(ctx context.Context, ticket, thread int64) {
	for try := 0; ; try++ {
		err := s.topicCall(ctx, "closeForumTopic", thread)
		var ra *gateway.RetryAfterError
		switch {
		case err == nil, topicNotModified(err):
			s.markTopic(ctx, ticket, thread, true)
			return
		case topicGone(err):
			s.forgetTopic(ctx, ticket, thread)
			return
		case errors.As(deliveryError(err), &ra) && try < 3 && ra.After <= maxInlineWait:
			continue // topicCall held the chat for ra.After
		}
		s.log.Warn("telegram topic not closed", "chat", s.topics.chat, "ticket", ticket, "thread", thread, "err", err)
		return
	}
}

// topicCall runs a forum method on a thread of the staff chat, paced like a message.
func (s *Sender) topicCall(ctx context.Context, method string, thread int64) error {
	if err := s.pace.wait(ctx, s.topics.chat); err != nil {
		return err
	}
	err := s.c.call(method, map[string]any{"chat_id": s.topics.chat, "message_thread_id": thread}, nil)
	s.held(deliveryError(err))
	return err
}

// held keeps the staff chat quiet for a 429's retry_after, and returns err.
func (s *Sender) held(err error) error {
	var ra *gateway.RetryAfterError
	if errors.As(err, &ra) {
		s.pace.hold(s.topics.chat, time.Now().Add(ra.After))
	}
	return err
}

func (s *Sender) markTopic(ctx context.Context, ticket, thread int64, closed bool) {
	if err := s.store.SetTelegramTopicClosed(ctx, s.topics.chat, ticket, thread, closed); err != nil {
		s.log.Warn("remember telegram topic state", "ticket", ticket, "thread", thread, "err", err)
	}
}

func (s *Sender) forgetTopic(ctx context.Context, ticket, thread int64) {
	s.log.Info("telegram topic is gone; the ticket gets a new one", "chat", s.topics.chat, "ticket", ticket, "thread", thread)
	if err := s.store.ForgetTelegramTopic(ctx, s.topics.chat, ticket, thread); err != nil {
		s.log.Warn("forget telegram topic", "ticket", ticket, "thread", thread, "err", err)
	}
}

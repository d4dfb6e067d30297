package telegramtest

import "time"

// Message is a text message from a user, for PushMessage.
type Message struct {
	ID     int64 // message_id; 0: the update's ID
	From   int64 // the sender's user ID
	Chat   int64 // 0: From's private chat
	Thread int64 // message_thread_id of a forum topic in Chat; 0: none
	// ReplyTo is the bot's message the user answered (reply_to_message); 0: none, which in
	// a topic means the topic's service message, as Telegram has it.
	ReplyTo int64
	Text    string
}

// bot is the bot's own user, as getMe answers it.
var bot = map[string]any{"id": 1, "is_bot": true, "first_name": "Bot", "username": "fake_bot"}

// PushMessage queues an update with m and returns its update_id.
func (s *Server) PushMessage(m Message) int64 {
	if m.Chat == 0 {
		m.Chat = m.From
	}
	now := time.Now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	chat := s.chat(m.Chat, m.Thread)
	msg := map[string]any{"date": now, "text": m.Text, "chat": chat,
		"from": map[string]any{"id": m.From, "first_name": "User"}}
	if m.Thread != 0 {
		msg["message_thread_id"] = m.Thread
		msg["is_topic_message"] = true
	}
	switch {
	case m.ReplyTo != 0:
		to := map[string]any{"message_id": m.ReplyTo, "date": now, "chat": chat, "from": bot}
		if text, found := s.sentText(m.Chat, m.ReplyTo); found {
			to["text"] = text
		}
		if m.Thread != 0 {
			to["message_thread_id"] = m.Thread
			to["is_topic_message"] = true
		}
		msg["reply_to_message"] = to
	case m.Thread != 0:
		// Telegram makes every message in a topic a reply to the topic's first message, the
		// service message that says the topic was made, whose ID is the thread's: a bot that
		// takes any reply_to_message for an answer to that message is wrong in every topic.
		msg["reply_to_message"] = map[string]any{"message_id": m.Thread, "date": now, "chat": chat, "from": bot,
			"message_thread_id": m.Thread, "forum_topic_created": map[string]any{"name": s.topicName(m.Chat, m.Thread),
				"icon_color": topicIconColor}}
	}
	id := s.nextUpdate
	s.nextUpdate++
	if m.ID == 0 {
		m.ID = id
	}
	msg["message_id"] = m.ID
	s.updates = append(s.updates, map[string]any{"update_id": id, "message": msg})
	return id
}

// sentText is the text of the bot's message id in chat, if the fake sent it. s.mu is held.
func (s *Server) sentText(chat, id int64) (string, bool) {
	for _, m := range s.sent {
		if m.Chat == chat && m.ID == id {
			return m.Text, true
		}
	}
	return "", false
}

// topicName is thread's name now (Telegram's service message keeps the first one, which
// no test has needed); a topic the fake never made (a test may push into any thread) has
// none. s.mu is held.
func (s *Server) topicName(chat, thread int64) string {
	if i := s.topic(chat, thread); i >= 0 {
		return s.topics[chat][i].Name
	}
	return ""
}

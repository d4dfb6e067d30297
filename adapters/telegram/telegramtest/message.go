package telegramtest

import "time"

// Message is a text message from a user, for PushMessage.
type Message struct {
	ID     int64 // message_id; 0: the update's ID
	From   int64 // the sender's user ID
	Chat   int64 // 0: From's private chat
	Thread int64 // message_thread_id of a forum topic in Chat; 0: none
	Text   string
}

// PushMessage queues an update with m and returns its update_id.
func (s *Server) PushMessage(m Message) int64 {
	if m.Chat == 0 {
		m.Chat = m.From
	}
	chat := map[string]any{"id": m.Chat, "type": chatType(m.Chat, m.Thread)}
	msg := map[string]any{"date": time.Now().Unix(), "text": m.Text, "chat": chat,
		"from": map[string]any{"id": m.From, "first_name": "User"}}
	if m.Thread != 0 {
		chat["is_forum"] = true
		msg["message_thread_id"] = m.Thread
		msg["is_topic_message"] = true
	}
	s.mu.Lock()
	id := s.nextUpdate
	s.nextUpdate++
	if m.ID == 0 {
		m.ID = id
	}
	msg["message_id"] = m.ID
	s.updates = append(s.updates, map[string]any{"update_id": id, "message": msg})
	s.mu.Unlock()
	return id
}

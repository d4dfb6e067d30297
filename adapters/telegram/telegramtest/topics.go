package telegramtest

import (
	"fmt"
	"net/http"
)

// topicIconColor is the icon_color Telegram gives a topic made without one.
const topicIconColor = 7322096

// Topic is a forum topic that createForumTopic made and that is still there.
type Topic struct {
	Chat   int64
	Thread int64 // message_thread_id
	Name   string
	Closed bool // closeForumTopic closed it, and no reopenForumTopic came since
}

// Forum makes chat, a group (negative ID), a forum supergroup: only there does
// createForumTopic make topics, and getChat and incoming messages call it a forum. A
// positive chat stays a private chat whatever Forum says.
func (s *Server) Forum(chat int64) {
	s.mu.Lock()
	s.forums[chat] = true
	s.mu.Unlock()
}

// Topics returns chat's topics as they are now, in the order they were made, closed ones
// with Closed set; deleted ones are gone.
func (s *Server) Topics(chat int64) []Topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Topic(nil), s.topics[chat]...)
}

// Created is how many topics createForumTopic has made in chat, deleted ones included: a
// count that grows while Topics stays the same means a deleted topic was made anew.
func (s *Server) Created(chat int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created[chat]
}

// DeleteTopic deletes a topic as a person does by hand in Telegram, behind the bot's back:
// no update says so, and the bot learns of it only when a call on the thread fails. It
// reports whether there was such a topic.
func (s *Server) DeleteTopic(chat, thread int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeTopic(chat, thread)
}

func (s *Server) createForumTopic(w http.ResponseWriter, p map[string]any) {
	chat, name := num(p["chat_id"]), fmt.Sprint(p["name"])
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isForum(chat) {
		fail(w, http.StatusBadRequest, "Bad Request: the chat is not a forum", 0)
		return
	}
	// A topic's thread is the ID of the service message that opens it, from the same
	// sequence as the chat's other messages, so a thread is never also a message of the bot.
	t := Topic{Chat: chat, Thread: s.nextMsg, Name: name}
	s.nextMsg++
	s.topics[chat] = append(s.topics[chat], t)
	s.created[chat]++
	ok(w, map[string]any{"message_thread_id": t.Thread, "name": name, "icon_color": topicIconColor})
}

// closeForumTopic and reopenForumTopic refuse to set the state a topic already has, as
// Telegram does: a bot that closes twice learns of it.
func (s *Server) closeForumTopic(w http.ResponseWriter, p map[string]any) { s.setClosed(w, p, true) }

func (s *Server) reopenForumTopic(w http.ResponseWriter, p map[string]any) { s.setClosed(w, p, false) }

func (s *Server) setClosed(w http.ResponseWriter, p map[string]any, closed bool) {
	chat, thread := num(p["chat_id"]), num(p["message_thread_id"])
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.topic(chat, thread)
	switch {
	case i < 0:
		fail(w, http.StatusBadRequest, "Bad Request: TOPIC_ID_INVALID", 0)
	case s.topics[chat][i].Closed == closed:
		fail(w, http.StatusBadRequest, "Bad Request: TOPIC_NOT_MODIFIED", 0)
	default:
		s.topics[chat][i].Closed = closed
		ok(w, true)
	}
}

// editForumTopic renames a topic; without a name (Telegram's way of changing only the
// icon) it keeps the old one.
func (s *Server) editForumTopic(w http.ResponseWriter, p map[string]any) {
	chat, thread := num(p["chat_id"]), num(p["message_thread_id"])
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.topic(chat, thread)
	if i < 0 {
		fail(w, http.StatusBadRequest, "Bad Request: TOPIC_ID_INVALID", 0)
		return
	}
	if name, given := p["name"]; given {
		s.topics[chat][i].Name = fmt.Sprint(name)
	}
	ok(w, true)
}

func (s *Server) deleteForumTopic(w http.ResponseWriter, p map[string]any) {
	chat, thread := num(p["chat_id"]), num(p["message_thread_id"])
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.removeTopic(chat, thread) {
		fail(w, http.StatusBadRequest, "Bad Request: TOPIC_ID_INVALID", 0)
		return
	}
	ok(w, true)
}

// getChat answers for any chat ID, known or not: what the bot asks is what kind of chat it
// is, and the kind follows from the ID and Forum.
func (s *Server) getChat(w http.ResponseWriter, p map[string]any) {
	chat := num(p["chat_id"])
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chat(chat, 0)
	if chat > 0 {
		c["first_name"] = "User"
	} else {
		c["title"] = fmt.Sprintf("Group %d", -chat)
	}
	ok(w, c)
}

// chat is the chat object of chat, as Telegram puts it in a message: users' chats have
// positive IDs, groups negative ones; a forum, or a chat a message in a topic came from, is
// a forum supergroup. s.mu is held.
func (s *Server) chat(chat, thread int64) map[string]any {
	c := map[string]any{"id": chat}
	switch {
	case chat > 0:
		c["type"] = "private"
	case s.isForum(chat) || thread != 0:
		c["type"], c["is_forum"] = "supergroup", true
	default:
		c["type"] = "group"
	}
	return c
}

// isForum tells whether Forum made chat a forum. s.mu is held.
func (s *Server) isForum(chat int64) bool { return chat < 0 && s.forums[chat] }

// topic returns the index of thread in s.topics[chat], -1 when there is no such topic. s.mu
// is held.
func (s *Server) topic(chat, thread int64) int {
	for i, t := range s.topics[chat] {
		if t.Thread == thread {
			return i
		}
	}
	return -1
}

// removeTopic deletes a topic and reports whether there was one. s.mu is held.
func (s *Server) removeTopic(chat, thread int64) bool {
	i := s.topic(chat, thread)
	if i < 0 {
		return false
	}
	s.topics[chat] = append(s.topics[chat][:i], s.topics[chat][i+1:]...)
	return true
}

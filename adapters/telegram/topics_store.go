package telegram

import "context"

// TopicStore remembers the forum topic each ticket has in the staff chat, so that posts of
// a ticket go to its topic and whatever staff write in a topic answers its ticket. A
// ticket has at most one topic in a chat, and a topic belongs to one ticket.
type TopicStore interface {
	// TelegramTopic returns the topic of a ticket in chat: its message_thread_id (0: none)
	// and whether it was closed.
	TelegramTopic(ctx context.Context, chatID, ticketID int64) (thread int64, closed bool, err error)
	// AddTelegramTopic records a new, open topic of a ticket and returns its thread. When
	// the ticket has a topic in chat already (another node made one first), it changes
	// nothing and returns that topic's thread instead.
	AddTelegramTopic(ctx context.Context, chatID, ticketID, thread int64) (int64, error)
	// SetTelegramTopicClosed records whether the ticket's topic thread is closed; it changes
	// nothing when the ticket's topic is no longer thread.
	SetTelegramTopicClosed(ctx context.Context, chatID, ticketID, thread int64, closed bool) error
	// ForgetTelegramTopic removes the record of a topic that is gone from Telegram (deleted
	// by hand), when thread is still the ticket's topic; the next post makes a new one.
	ForgetTelegramTopic(ctx context.Context, chatID, ticketID, thread int64) error
	// TelegramTopicTicket returns the ticket whose topic thread is in chat (0: none).
	TelegramTopicTicket(ctx context.Context, chatID, thread int64) (int64, error)
}

// Package telegram is helpdeskd's Telegram gateway over the Bot API (gopkg.in/telebot.v3,
// long polling): it turns updates into the gateway's channel-neutral Inbound messages and
// use cases, holds the bot's conversations (/new, /tickets, linking), and delivers the
// outbox's notifications as a gateway.Sender.
//
// Updates are applied exactly once: the poller asks Telegram only from the offset stored in
// SQLite, and moves that offset only after an update's effect is committed (telebot's own
// LongPoller confirms updates before handlers finish, so it is not used). It knows core,
// gateway and its own small Store interface; it never knows SQL, HTTP routing or mail.
package telegram

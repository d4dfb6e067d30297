// Package gateway turns what arrives on a channel (a mail, a chat message) into core use
// cases, and the outbox's notifications back into messages for a channel.
//
// Inbound, every channel goes through one pipeline: deduplicate → robots and loops →
// sender → thread → apply. Outbound, the dispatcher renders each due notification and
// hands it to the channel's Sender, with retries and exponential backoff; each channel (and
// the Telegram staff chat) has a delivery lane of its own. The package knows core and the
// small interfaces it declares here (InboundStore, Outbox, Sender); it never knows a
// concrete adapter, a MIME parser or an IMAP or Telegram client.
package gateway

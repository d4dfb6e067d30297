package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/helpdeskd/helpdeskd/gateway"
)

var _ gateway.Sender = (*Sender)(nil)

// MaxTextLen is the Bot API's limit on one message's text, in UTF-16 code units.
const MaxTextLen = 4096

// maxInlineWait bounds how long a send waits out a 429 in the middle of a split text
// rather than handing it back to the dispatcher (which would send the first parts again).
const maxInlineWait = 30 * time.Second

// Pace spaces out sends to stay under the Bot API's limits instead of running into 429s.
// The zero value means Telegram's published limits.
type Pace struct {
	// PerChat is the gap between two messages to one private chat (default 1 s).
	PerChat time.Duration
	// PerGroup is the gap between two messages to one group (default 3 s: 20 a minute).
	PerGroup time.Duration
	// Overall is the gap between any two messages (default 1/30 s: 30 a second).
	Overall time.Duration
}

func (p Pace) withDefaults() Pace {
	if p.PerChat <= 0 {
		p.PerChat = time.Second
	}
	if p.PerGroup <= 0 {
		p.PerGroup = 3 * time.Second
	}
	if p.Overall <= 0 {
		p.Overall = time.Second / 30
	}
	return p
}

// pacer hands out send slots: each send first waits for its chat's slot (the chat's gap
// after its previous message), then takes the overall slot. The overall slot is taken only
// once the chat's is reached: reserved ahead, a group's 3-second gap would push the overall
// slot forward and hold up every private chat behind it.
type pacer struct {
	pace    Pace
	mu      sync.Mutex
	next    map[int64]time.Time
	overall time.Time
}

func newPacer(p Pace) *pacer { return &pacer{pace: p.withDefaults(), next: map[int64]time.Time{}} }

func (p *pacer) wait(ctx context.Context, chat int64) error {
	gap := p.pace.PerChat
	if chat < 0 {
		gap = p.pace.PerGroup
	}
	p.mu.Lock()
	now := time.Now()
	at := now
	if t := p.next[chat]; t.After(at) {
		at = t
	}
	p.next[chat] = at.Add(gap)
	if len(p.next) > 10000 {
		for c, t := range p.next {
			if t.Before(now) {
				delete(p.next, c)
			}
		}
	}
	p.mu.Unlock()
	if err := waitUntil(ctx, at); err != nil {
		return err
	}
	p.mu.Lock()
	at2 := time.Now()
	if p.overall.After(at2) {
		at2 = p.overall
	}
	p.overall = at2.Add(p.pace.Overall)
	if t := at2.Add(gap); t.After(p.next[chat]) {
		p.next[chat] = t
	}
	p.mu.Unlock()
	return waitUntil(ctx, at2)
}

// waitUntil returns at t, or with ctx's error if it ends first.
func waitUntil(ctx context.Context, t time.Time) error {
	if d := time.Until(t); d > 0 && !sleep(ctx, d) {
		return ctx.Err()
	}
	return ctx.Err()
}

// hold keeps a chat quiet until at (after a 429 for it).
func (p *pacer) hold(chat int64, at time.Time) {
	p.mu.Lock()
	if at.After(p.next[chat]) {
		p.next[chat] = at
	}
	p.mu.Unlock()
}

// senderStore is what the Sender keeps: which message and which topic is whose.
type senderStore interface {
	MessageStore
	TopicStore
}

// MessageStore remembers which bot message belongs to which ticket.
type MessageStore interface {
	// RememberTelegramMessage records that a bot message belongs to a ticket.
	RememberTelegramMessage(ctx context.Context, chatID, messageID, ticketID int64) error
}

// Sender delivers notifications and the bot's answers: split to MaxTextLen, paced, with
// the Reply/Close buttons, and every message of a ticket remembered so that a Telegram
// reply to it answers that ticket.
type Sender struct {
	c     *client
	store senderStore
	pace  *pacer
	log   *slog.Logger
	// topics, when there is a staff chat, posts its tickets' messages in forum topics.
	topics *topics
	// flights are the sends under way per chat (inflight.go).
	flights inflight
}

// button is one inline button.
type button struct {
	Text string `json:"text"`
	Data string `json:"callback_data"`
}

// message is one text the bot sends.
type message struct {
	chat    int64
	text    string
	buttons [][]button
	// ticket, when set, is the ticket every part belongs to.
	ticket int64
	// forceReply opens the reply box on the client; replyTo quotes a message.
	forceReply bool
	replyTo    int
	// thread is the forum topic it goes to (0: the chat itself, or a forum's General).
	thread int64
}

// Send delivers one notification. Returns *gateway.RetryAfterError for a 429 and a
// permanent error when the chat cannot be written to (blocked, not found, kicked).
func (s *Sender) Send(ctx context.Context, out gateway.Outgoing) error {
	chat, err := strconv.ParseInt(strings.TrimSpace(out.To), 10, 64)
	if err != nil || chat == 0 {
		return gateway.Permanent(fmt.Errorf("bad telegram chat id %q", out.To))
	}
	m := message{chat: chat, text: out.Text, ticket: out.TicketID}
	if len(out.Actions) > 0 {
		row := make([]button, 0, len(out.Actions))
		for _, a := range out.Actions {
			row = append(row, button{Text: a.Label, Data: a.Data})
		}
		m.buttons = [][]button{row}
	}
	if th := out.Thread; th != nil {
		if s.topics != nil && chat == s.topics.chat && out.TicketID != 0 {
			on, err := s.topics.enabled()
			if err != nil {
				return deliveryError(err)
			}
			if on {
				m.buttons = withoutReply(m.buttons)
				return s.postInTopic(ctx, out.TicketID, *th, m)
			}
		}
		if th.Only {
			// A post for the ticket's topic, to a chat that keeps none: it gets the
			// alerts only, as a plain group always did.
			return nil
		}
	}
	return s.send(ctx, m)
}

// withoutReply drops the Reply button: in a topic staff simply write.
func withoutReply(rows [][]button) [][]button {
	var out [][]button
	for _, row := range rows {
		var keep []button
		for _, b := range row {
			if !strings.HasPrefix(b.Data, "reply:") {
				keep = append(keep, b)
			}
		}
		if len(keep) > 0 {
			out = append(out, keep)
		}
	}
	return out
}

// send delivers m part by part. A 429 before the first part is handed back; in the middle
// of a split text it is waited out (up to maxInlineWait) so no part is sent twice.
func (s *Sender) send(ctx context.Context, m message) error {
	_, err := s.sendParts(ctx, m)
	return err
}

// sendParts is send that also says how many parts went out.
func (s *Sender) sendParts(ctx context.Context, m message) (int, error) {
	s.flights.begin(m.chat)
	defer s.flights.end(m.chat)
	parts := Split(m.text, MaxTextLen)
	for i, part := range parts {
		payload := map[string]any{"chat_id": m.chat, "text": part}
		if m.thread != 0 {
			payload["message_thread_id"] = m.thread
		}
		if i == 0 && m.replyTo != 0 {
			payload["reply_to_message_id"] = m.replyTo
			payload["allow_sending_without_reply"] = true
		}
		if i == len(parts)-1 {
			switch {
			case len(m.buttons) > 0:
				payload["reply_markup"] = map[string]any{"inline_keyboard": m.buttons}
			case m.forceReply:
				payload["reply_markup"] = map[string]any{"force_reply": true}
			}
		}
		var sent struct {
			ID int64 `json:"message_id"`
		}
		for try := 0; ; try++ {
			if err := s.pace.wait(ctx, m.chat); err != nil {
				return i, err
			}
			err := s.c.call("sendMessage", payload, &sent)
			if err == nil {
				break
			}
			derr := deliveryError(err)
			var ra *gateway.RetryAfterError
			if errors.As(derr, &ra) {
				s.pace.hold(m.chat, time.Now().Add(ra.After))
				if i > 0 && try < 3 && ra.After <= maxInlineWait {
					continue
				}
			}
			return i, derr
		}
		if m.ticket != 0 && sent.ID != 0 {
			if err := s.store.RememberTelegramMessage(ctx, m.chat, sent.ID, m.ticket); err != nil {
				// Sent: only the reply threading of this one message is lost.
				s.log.Warn("remember telegram message", "chat", m.chat, "ticket", m.ticket, "err", err)
			}
		}
	}
	return len(parts), nil
}

// Split cuts text into parts of at most limit UTF-16 code units (the Bot API's measure),
// at a line break where one is near, else at a space, else anywhere between characters.
func Split(text string, limit int) []string {
	if text == "" {
		return []string{"(empty)"}
	}
	var parts []string
	for text != "" {
		if utf16Len(text) <= limit {
			if strings.TrimSpace(text) != "" || len(parts) == 0 {
				parts = append(parts, text)
			}
			break
		}
		// The longest prefix within the limit.
		n, units := 0, 0
		for i, r := range text {
			w := len(utf16.Encode([]rune{r}))
			if units+w > limit {
				n = i
				break
			}
			units += w
		}
		cut := n
		if i := strings.LastIndex(text[:n], "\n"); i > n/2 {
			cut = i + 1
		} else if i := strings.LastIndex(text[:n], " "); i > n/2 {
			cut = i + 1
		}
		if part := strings.TrimRight(text[:cut], "\n"); strings.TrimSpace(part) != "" {
			parts = append(parts, part)
		}
		text = text[cut:]
	}
	return parts
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

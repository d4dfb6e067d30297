package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// Store is what the gateway keeps in the database besides what core keeps.
type Store interface {
	MessageStore
	TopicStore
	// TelegramOffset returns the next update ID to ask for (0 before the first update).
	TelegramOffset(ctx context.Context) (int64, error)
	// TelegramUpdateDone reports whether an update was finished before.
	TelegramUpdateDone(ctx context.Context, updateID int64) (bool, error)
	// FinishTelegramUpdate records the update as done, moves the offset past it and, when
	// dialogueUser is not 0, replaces that user's dialogue ("" ends it), in one transaction.
	FinishTelegramUpdate(ctx context.Context, updateID, dialogueUser int64, dialogue string, keep time.Duration) error
	// TelegramDialogue returns a user's dialogue in progress ("" if none).
	TelegramDialogue(ctx context.Context, telegramUserID int64) (string, error)
	// TelegramMessageTicket returns the ticket a bot message belongs to (0 if none).
	TelegramMessageTicket(ctx context.Context, chatID, messageID int64) (int64, error)
	// Inbound returns the record of a message the pipeline applied; ENOTFOUND if none.
	Inbound(ctx context.Context, ch core.Channel, key string) (*core.InboundRecord, error)
}

// Options configures the gateway.
type Options struct {
	// Token is the bot's token; APIURL the Bot API's base URL (telegram.api_url).
	Token  string
	APIURL string
	// StaffChatID is the staff group (0: none): ticket posts go there, and a linked staff
	// user's reply to one answers the ticket.
	StaffChatID int64
	// StaffTopics says whether each ticket gets a forum topic in the staff chat (auto: when
	// the chat is a forum).
	StaffTopics TopicsMode
	// DeskName names the desk in the bot's explanations ("Support" if empty).
	DeskName string
	// DefaultLanguage is the desk's language ([notify] default_language, a BCP 47 tag; ""
	// is English). The bot answers in it a linked user who has no language of their own
	// (or one not shipped), and anyone in the staff chat who is not a linked user. A
	// Telegram user not linked yet is answered in their Telegram client's language when it
	// is shipped, else in this one.
	DefaultLanguage string
	// PollTimeout is the long-poll's timeout (default 25 s); RetryDelay the pause after a
	// failed poll or update, doubling up to a minute (default 1 s); IdleDelay the pause
	// after an empty answer that came back early (default 500 ms).
	PollTimeout time.Duration
	RetryDelay  time.Duration
	IdleDelay   time.Duration
	// Pace spaces out sends (zero value: Telegram's limits).
	Pace Pace
	// HTTPClient is the base client (nil: a default one).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// OnState, when set, is told whether polling works (metrics and readiness).
	OnState func(connected bool)
	// OnAPIState, when set, is told each time the Bot API's state changes (ok, throttled,
	// failing), from the answers to every call: the poller's and the sends'.
	OnAPIState func(APIState)
}

// Defaults of Options.
const (
	DefaultPollTimeout = 25 * time.Second
	// BotDownloadLimit is the largest file the Bot API lets a bot download.
	BotDownloadLimit = 20 << 20
	// updateKeep is how long finished update IDs are kept for dedupe.
	updateKeep = 7 * 24 * time.Hour
	// pollLimit is how many updates one getUpdates asks for.
	pollLimit = 50
	// replySettle bounds how long a reply to a message still being sent waits for it.
	replySettle = 5 * time.Second
)

// Bot is the Telegram bot: the poller, the conversations and the Sender.
type Bot struct {
	svc    *core.Service
	pipe   *gateway.Pipeline
	store  Store
	opts   Options
	log    *slog.Logger
	c      *client
	sender *Sender

	lifetime context.Context
	stop     context.CancelFunc

	// beforeAck, in tests, runs after an update's change is committed and before the
	// update is finished; an error stops there as a crash would.
	beforeAck func(updateID int64) error
}

// New returns the gateway; nothing is sent or polled before Run.
func New(svc *core.Service, pipe *gateway.Pipeline, store Store, opts Options) (*Bot, error) {
	if opts.Token == "" {
		return nil, errors.New("telegram: no bot token")
	}
	if opts.APIURL == "" {
		opts.APIURL = "https://api.telegram.org"
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = DefaultPollTimeout
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.IdleDelay <= 0 {
		opts.IdleDelay = 500 * time.Millisecond
	}
	if opts.DeskName == "" {
		opts.DeskName = "Support"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lifetime, stop := context.WithCancel(context.Background())
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: opts.PollTimeout + apiTimeout}
	}
	c, err := newClient(opts.APIURL, opts.Token, base, lifetime)
	if err != nil {
		stop()
		return nil, err
	}
	c.health = newHealth(opts.OnAPIState)
	g := &Bot{svc: svc, pipe: pipe, store: store, opts: opts, log: log, c: c, lifetime: lifetime, stop: stop}
	g.sender = &Sender{c: c, store: store, pace: newPacer(opts.Pace), log: log}
	if opts.StaffChatID != 0 {
		g.sender.topics = &topics{c: c, store: store, chat: opts.StaffChatID, mode: opts.StaffTopics, log: log}
	}
	return g, nil
}

// APIState is what the bot last heard from the Bot API (/readyz).
func (g *Bot) APIState() APIState { return g.c.health.state() }

// Sender returns the gateway's Sender for the outbox dispatcher.
func (g *Bot) Sender() *Sender { return g.sender }

// Close ends every call in flight.
func (g *Bot) Close() error {
	g.stop()
	return nil
}

// Run polls for updates and applies them, one at a time in update order, until ctx ends.
// The offset it asks from is the stored one, and it moves only when an update is finished,
// so whatever was fetched but not finished is delivered again after a crash.
func (g *Bot) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, g.stop)
	defer stop()
	offset, err := g.store.TelegramOffset(ctx)
	if err != nil {
		return fmt.Errorf("telegram: read offset: %w", err)
	}
	delay := g.opts.RetryDelay
	connected := false
	setState := func(ok bool) {
		if ok == connected {
			return
		}
		connected = ok
		if g.opts.OnState != nil {
			g.opts.OnState(ok)
		}
	}
	g.log.Info("telegram polling", "offset", offset)
	for ctx.Err() == nil {
		started := time.Now()
		updates, err := g.fetch(offset)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			setState(false)
			g.log.Warn("telegram getUpdates failed", "err", err, "retry_in", delay)
			if !sleep(ctx, delay) {
				break
			}
			delay = min(2*delay, time.Minute)
			continue
		}
		setState(true)
		delay = g.opts.RetryDelay
		failed := false
		for _, u := range updates {
			if int64(u.ID) < offset {
				continue // confirmed before; an API that ignores offset may repeat it
			}
			if err := g.handle(ctx, u); err != nil {
				if ctx.Err() == nil {
					g.log.Error("telegram update not applied; it will be tried again", "update", u.ID, "err", err)
				}
				failed = true
				break
			}
			offset = int64(u.ID) + 1
		}
		switch {
		case failed:
			if !sleep(ctx, delay) {
				return nil
			}
			delay = min(2*delay, time.Minute)
		case len(updates) == 0 && time.Since(started) < g.opts.PollTimeout/2:
			// An API that answers at once (an emulator, a proxy) must not be polled in a
			// tight loop.
			if !sleep(ctx, g.opts.IdleDelay) {
				return nil
			}
		}
	}
	return nil
}

// fetch asks for the updates from offset on; asking confirms everything before it.
func (g *Bot) fetch(offset int64) ([]tele.Update, error) {
	var updates []tele.Update
	err := g.c.call("getUpdates", map[string]any{
		"offset":          offset,
		"limit":           pollLimit,
		"timeout":         int(g.opts.PollTimeout / time.Second),
		"allowed_updates": []string{"message", "callback_query"},
	}, &updates)
	return updates, err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

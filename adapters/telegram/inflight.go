package telegram

import (
	"context"
	"sync"
	"time"
)

// inflight tracks the sends under way per chat. The bot remembers which ticket a message
// belongs to only once sendMessage has answered, and a quick user can reply to the message
// before that: the reply then waits for the chat's sends to finish instead of being taken
// for a message about nothing.
type inflight struct {
	mu    sync.Mutex
	chats map[int64]*flight
}

// flight is a chat's sends under way; done is closed when the last one ends.
type flight struct {
	n    int
	done chan struct{}
}

func (f *inflight) begin(chat int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.chats == nil {
		f.chats = map[int64]*flight{}
	}
	fl := f.chats[chat]
	if fl == nil {
		fl = &flight{done: make(chan struct{})}
		f.chats[chat] = fl
	}
	fl.n++
}

func (f *inflight) end(chat int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.chats[chat]
	if fl == nil {
		return
	}
	if fl.n--; fl.n == 0 {
		close(fl.done)
		delete(f.chats, chat)
	}
}

// settle waits until no send to chat is under way, at most max; it reports whether none is.
func (f *inflight) settle(ctx context.Context, chat int64, max time.Duration) bool {
	f.mu.Lock()
	fl := f.chats[chat]
	f.mu.Unlock()
	if fl == nil {
		return true
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-fl.done:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

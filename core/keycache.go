package core

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Every API request authenticates, and a database read for it cost a fifth of the CPU of a
// ticket create; so the users of keys seen recently are kept in memory. A write through
// this Service that changes a user or revokes a key empties the cache before it returns,
// so the next request sees it. keyCacheTTL bounds how long a change made by another
// process (the `admin` command on the same database) can go unseen.
const (
	keyCacheSize = 4096
	keyCacheTTL  = time.Second
)

// keyCache maps a key's hash to its user. Only keys that authenticated are kept, so
// guessing keys cannot fill it.
type keyCache struct {
	mu sync.Mutex
	// gen counts invalidations: a lookup that started before one must not store what it
	// read, which may predate the change.
	gen     uint64
	entries map[string]keyEntry
}

type keyEntry struct {
	user    *User
	expires time.Time
}

func newKeyCache() *keyCache { return &keyCache{entries: map[string]keyEntry{}} }

// get returns a copy of the cached user of hash, or nil, and the generation to pass to put.
func (c *keyCache) get(hash string) (*User, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok {
		return nil, c.gen
	}
	// The wall clock, not the Service's: a test clock may stand still.
	if time.Now().After(e.expires) {
		delete(c.entries, hash)
		return nil, c.gen
	}
	return copyUser(e.user), c.gen
}

// put keeps u for hash unless the cache was invalidated since gen was read.
func (c *keyCache) put(hash string, u *User, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= keyCacheSize {
		for h := range c.entries { // map order: an arbitrary victim
			delete(c.entries, h)
			break
		}
	}
	c.entries[hash] = keyEntry{user: copyUser(u), expires: time.Now().Add(keyCacheTTL)}
}

func (c *keyCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// copyUser keeps callers from changing the cached user through what they were given.
func copyUser(u *User) *User {
	cp := *u
	cp.AccountIDs = slices.Clone(u.AccountIDs)
	return &cp
}

// watchedStore is the Service's store: it empties the key cache after every write that
// changed a user or revoked a key, whichever use case made it.
type watchedStore struct {
	Store
	keys *keyCache
}

func (w watchedStore) Write(ctx context.Context, fn func(Tx) error) error {
	var changed atomic.Bool
	err := w.Store.Write(ctx, func(tx Tx) error { return fn(userWatchTx{Tx: tx, changed: &changed}) })
	// Also after a failed write: it may have been retried and undone, and emptying the
	// cache once too often costs one read per key.
	if changed.Load() {
		w.keys.invalidate()
	}
	return err
}

// userWatchTx notes the calls that change what a key authenticates as: the user's role,
// memberships and addresses, or the key itself. A new key changes no cached entry.
type userWatchTx struct {
	Tx
	changed *atomic.Bool
}

func (t userWatchTx) PutUser(ctx context.Context, u *User) error {
	t.changed.Store(true)
	return t.Tx.PutUser(ctx, u)
}

func (t userWatchTx) DeleteAPIKey(ctx context.Context, userID, keyID int64) error {
	t.changed.Store(true)
	return t.Tx.DeleteAPIKey(ctx, userID, keyID)
}

func (t userWatchTx) SetTelegramID(ctx context.Context, userID, telegramID int64) error {
	t.changed.Store(true)
	return t.Tx.SetTelegramID(ctx, userID, telegramID)
}

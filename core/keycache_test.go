package core

import (
	"context"
	"fmt"
	"testing"
)

func TestKeyCache_LookupStartedBeforeAChangeStoresNothing(t *testing.T) {
	c := newKeyCache()
	u, gen := c.get("h")
	if u != nil {
		t.Fatal("hit in an empty cache")
	}
	// The lookup read the database, then a revoke committed and emptied the cache.
	c.invalidate()
	c.put("h", &User{ID: 1}, gen)
	if u, _ := c.get("h"); u != nil {
		t.Fatal("a read from before the change was kept")
	}
	_, gen = c.get("h")
	c.put("h", &User{ID: 1}, gen)
	if u, _ := c.get("h"); u == nil || u.ID != 1 {
		t.Fatalf("got %v, want user 1", u)
	}
}

func TestKeyCache_CallersGetCopies(t *testing.T) {
	c := newKeyCache()
	_, gen := c.get("h")
	orig := &User{ID: 1, Role: RoleCustomer, AccountIDs: []int64{7}}
	c.put("h", orig, gen)
	orig.AccountIDs[0] = 8
	u, _ := c.get("h")
	u.Role, u.AccountIDs[0] = RoleAdmin, 9
	if again, _ := c.get("h"); again.Role != RoleCustomer || again.AccountIDs[0] != 7 {
		t.Fatalf("cached user changed through a caller: %+v", again)
	}
}

func TestKeyCache_Bounded(t *testing.T) {
	c := newKeyCache()
	for i := range keyCacheSize + 100 {
		_, gen := c.get("")
		c.put(fmt.Sprint(i), &User{ID: int64(i)}, gen)
	}
	if n := len(c.entries); n > keyCacheSize {
		t.Fatalf("%d entries, cap %d", n, keyCacheSize)
	}
}

// fakeStore runs writes and reads straight on tx.
type fakeStore struct{ tx Tx }

func (s fakeStore) Read(_ context.Context, fn func(ReadTx) error) error { return fn(s.tx) }
func (s fakeStore) Write(_ context.Context, fn func(Tx) error) error    { return fn(s.tx) }

// nopTx accepts every write.
type nopTx struct{ Tx }

func (nopTx) PutUser(context.Context, *User) error                 { return nil }
func (nopTx) DeleteAPIKey(context.Context, int64, int64) error     { return nil }
func (nopTx) SetTelegramID(context.Context, int64, int64) error    { return nil }
func (nopTx) AddNotification(context.Context, *Notification) error { return nil }

func TestWatchedStore_UserAndKeyChangesEmptyTheCache(t *testing.T) {
	ctx := context.Background()
	writes := map[string]func(Tx) error{
		"PutUser":       func(tx Tx) error { return tx.PutUser(ctx, &User{ID: 1}) },
		"DeleteAPIKey":  func(tx Tx) error { return tx.DeleteAPIKey(ctx, 1, 1) },
		"SetTelegramID": func(tx Tx) error { return tx.SetTelegramID(ctx, 1, 5) },
	}
	for name, fn := range writes {
		keys := newKeyCache()
		w := watchedStore{Store: fakeStore{nopTx{}}, keys: keys}
		_, gen := keys.get("h")
		keys.put("h", &User{ID: 1}, gen)
		if err := w.Write(ctx, func(tx Tx) error { return tx.AddNotification(ctx, &Notification{}) }); err != nil {
			t.Fatal(err)
		}
		if u, _ := keys.get("h"); u == nil {
			t.Fatalf("%s: an unrelated write emptied the cache", name)
		}
		if err := w.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
		if u, _ := keys.get("h"); u != nil {
			t.Errorf("%s: cache still holds the user", name)
		}
	}
}

package storetest

import (
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// What the Telegram gateway keeps: the update offset and finished updates, dialogues, which
// bot message belongs to which ticket, link codes, the users' Telegram IDs and the tickets'
// forum topics.

// updateKeep is long enough that nothing the tests finish is pruned.
const updateKeep = 7 * 24 * time.Hour

func runTelegram(t *testing.T, open Opener) {
	t.Run("UpdatesAndOffset", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		offset := func() int64 {
			t.Helper()
			n, err := d.store.TelegramOffset(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		done := func(id int64) bool {
			t.Helper()
			ok, err := d.store.TelegramUpdateDone(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if got := offset(); got != 0 {
			t.Errorf("offset before any update %d, want 0", got)
		}
		steps := []struct {
			name       string
			update     int64
			wantOffset int64
		}{
			{"first update", 5, 6},
			{"an older one never moves the offset back", 3, 6},
			{"the same one again", 5, 6},
			{"a later one", 10, 11},
		}
		for _, s := range steps {
			if err := d.store.FinishTelegramUpdate(ctx, s.update, 0, "", updateKeep); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got := offset(); got != s.wantOffset {
				t.Errorf("%s: offset %d, want %d", s.name, got, s.wantOffset)
			}
		}
		for id, want := range map[int64]bool{3: true, 4: false, 5: true, 6: false, 10: true, 11: false} {
			if got := done(id); got != want {
				t.Errorf("update %d done: %v, want %v", id, got, want)
			}
		}
	})

	t.Run("Dialogues", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		steps := []struct {
			name     string
			update   int64
			user     int64
			dialogue string
			want     map[int64]string
		}{
			{"none yet", 1, 0, "", map[int64]string{42: "", 43: ""}},
			{"one starts", 2, 42, `{"step":"subject"}`, map[int64]string{42: `{"step":"subject"}`, 43: ""}},
			{"another user's starts", 3, 43, `{"step":"body"}`, map[int64]string{42: `{"step":"subject"}`, 43: `{"step":"body"}`}},
			{"an update of nobody's keeps them", 4, 0, "", map[int64]string{42: `{"step":"subject"}`, 43: `{"step":"body"}`}},
			{"one moves on", 5, 42, `{"step":"confirm"}`, map[int64]string{42: `{"step":"confirm"}`, 43: `{"step":"body"}`}},
			{"one ends", 6, 42, "", map[int64]string{42: "", 43: `{"step":"body"}`}},
		}
		for _, s := range steps {
			if err := d.store.FinishTelegramUpdate(ctx, s.update, s.user, s.dialogue, updateKeep); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			for user, want := range s.want {
				got, err := d.store.TelegramDialogue(ctx, user)
				if err != nil || got != want {
					t.Errorf("%s: dialogue of %d %q, %v; want %q", s.name, user, got, err, want)
				}
			}
		}
	})

	t.Run("MessageTickets", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		t1 := d.ticket(t, d.ann, core.NewTicket{})
		t2 := d.ticket(t, d.ann, core.NewTicket{})
		steps := []struct {
			name          string
			chat, message int64
			ticket        int64 // 0: only look
			want          map[[2]int64]int64
		}{
			{"nothing remembered", 0, 0, 0, map[[2]int64]int64{{-100, 7}: 0}},
			{"remembered", -100, 7, t1.ID, map[[2]int64]int64{{-100, 7}: t1.ID, {4242, 7}: 0, {-100, 8}: 0}},
			{"the same message in another chat", 4242, 7, t2.ID, map[[2]int64]int64{{-100, 7}: t1.ID, {4242, 7}: t2.ID}},
			{"remembered again for another ticket", -100, 7, t2.ID, map[[2]int64]int64{{-100, 7}: t2.ID, {4242, 7}: t2.ID}},
		}
		for _, s := range steps {
			if s.ticket != 0 {
				if err := d.store.RememberTelegramMessage(ctx, s.chat, s.message, s.ticket); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			for key, want := range s.want {
				got, err := d.store.TelegramMessageTicket(ctx, key[0], key[1])
				if err != nil || got != want {
					t.Errorf("%s: ticket of message %d in chat %d: %d, %v; want %d", s.name, key[1], key[0], got, err, want)
				}
			}
		}
	})

	t.Run("LinkCodes", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		expires := epoch.Add(core.TelegramLinkTTL)
		d.write(t, func(tx core.Tx) error {
			for _, c := range []core.TelegramLinkCode{
				{Hash: "h-used", UserID: 100, ExpiresAt: expires, CreatedAt: epoch},
				{Hash: "h-boundary", UserID: 100, ExpiresAt: expires, CreatedAt: epoch},
				{Hash: "h-swept", UserID: 200, ExpiresAt: expires, CreatedAt: epoch},
				{Hash: "h-late", UserID: 200, ExpiresAt: expires.Add(time.Hour), CreatedAt: epoch},
			} {
				if err := tx.CreateTelegramLinkCode(ctx, &c); err != nil {
					return err
				}
			}
			return nil
		})
		take := func(hash string, now time.Time) (int64, error) {
			var id int64
			err := d.store.Write(ctx, func(tx core.Tx) (err error) { id, err = tx.TakeTelegramLinkCode(ctx, hash, now); return })
			return id, err
		}
		steps := []struct {
			name string
			hash string
			now  time.Time
			want int64 // 0: ENOTFOUND
		}{
			{"a fresh code", "h-used", epoch.Add(time.Minute), 100},
			{"a used code", "h-used", epoch.Add(time.Minute), 0},
			{"an unknown code", "h-unknown", epoch, 0},
			{"at its expiry", "h-boundary", expires, 0},
			{"a code alive while others expire", "h-late", expires.Add(time.Minute), 200},
			// Taking any code deletes the expired ones: this one is gone even for an earlier now.
			{"an expired code is gone", "h-swept", epoch, 0},
		}
		for _, s := range steps {
			got, err := take(s.hash, s.now)
			if s.want == 0 {
				wantCode(t, s.name, err, core.ENOTFOUND)
				continue
			}
			if err != nil || got != s.want {
				t.Errorf("%s: user %d, %v; want %d", s.name, got, err, s.want)
			}
		}
	})

	t.Run("LinkCodesExpireWhenANewOneIsMade", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		expires := epoch.Add(core.TelegramLinkTTL)
		create := func(hash string, at time.Time) {
			t.Helper()
			d.write(t, func(tx core.Tx) error {
				return tx.CreateTelegramLinkCode(ctx, &core.TelegramLinkCode{Hash: hash, UserID: 100, ExpiresAt: at.Add(core.TelegramLinkTTL), CreatedAt: at})
			})
		}
		create("h-old", epoch)
		create("h-new", expires.Add(time.Minute))
		// Asked for at a time the old code was alive, it is still gone: the new code swept it.
		err := d.store.Write(ctx, func(tx core.Tx) error {
			_, err := tx.TakeTelegramLinkCode(ctx, "h-old", epoch.Add(time.Minute))
			return err
		})
		wantCode(t, "an expired code after a new one was made", err, core.ENOTFOUND)
	})

	t.Run("TelegramIDs", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		linked := func(telegramID int64) int64 {
			t.Helper()
			var u *core.User
			err := d.store.Read(ctx, func(tx core.ReadTx) (err error) { u, err = tx.UserByTelegramID(ctx, telegramID); return })
			if core.ErrorCode(err) == core.ENOTFOUND {
				return 0
			} else if err != nil {
				t.Fatal(err)
			}
			return u.ID
		}
		idOf := func(userID int64) int64 {
			t.Helper()
			var u *core.User
			d.read(t, func(tx core.ReadTx) (err error) { u, err = tx.User(ctx, userID); return })
			return u.TelegramID
		}
		set := func(userID, telegramID int64) {
			t.Helper()
			d.write(t, func(tx core.Tx) error { return tx.SetTelegramID(ctx, userID, telegramID) })
		}
		set(100, 4242)
		set(100, 4242)
		if got := linked(4242); got != 100 || idOf(100) != 4242 {
			t.Errorf("4242 linked to %d, Ann's Telegram ID %d; want Ann and 4242", got, idOf(100))
		}
		// Provisioning the user again keeps the link: the panel knows nothing of Telegram.
		if _, err := d.svc.PutUser(ctx, d.sys, core.User{ID: 100, Email: "ann@acme.example", Name: "Ann A", AccountIDs: []int64{1}}); err != nil {
			t.Fatal(err)
		}
		if got := idOf(100); got != 4242 {
			t.Errorf("Ann's Telegram ID %d after provisioning, want 4242", got)
		}
		// Linking the Telegram user to another user unlinks the first.
		set(200, 4242)
		if got := linked(4242); got != 200 || idOf(100) != 0 || idOf(200) != 4242 {
			t.Errorf("after the move: 4242 linked to %d, Ann's ID %d, Bob's %d; want Bob, 0, 4242", got, idOf(100), idOf(200))
		}
		// A user has one Telegram ID: a new one replaces the old.
		set(200, 4343)
		if linked(4242) != 0 || linked(4343) != 200 {
			t.Errorf("after relinking Bob: 4242 linked to %d, 4343 to %d; want nobody and Bob", linked(4242), linked(4343))
		}
		set(200, 0)
		if linked(4343) != 0 || idOf(200) != 0 {
			t.Errorf("after unlinking: 4343 linked to %d, Bob's ID %d; want nobody, 0", linked(4343), idOf(200))
		}
		// The whole use case: a code made for Cat links her.
		code, _, err := d.svc.CreateTelegramLink(ctx, d.cat)
		if err != nil {
			t.Fatal(err)
		}
		u, err := d.svc.LinkTelegram(ctx, code, 5151)
		if err != nil || u.ID != 300 || linked(5151) != 300 {
			t.Errorf("LinkTelegram: %+v, %v; 5151 linked to %d; want Cat", u, err, linked(5151))
		}
		_, err = d.svc.LinkTelegram(ctx, code, 5252)
		wantCode(t, "a code used twice", err, core.ENOTFOUND)
	})

	t.Run("Topics", func(t *testing.T) { runTelegramTopics(t, open) })
}

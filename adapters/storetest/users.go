package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The records the panel provisions: accounts, users with their memberships, properties,
// departments and API keys.

func runUsers(t *testing.T, open Opener) {
	t.Run("AccountUpsertKeepsCreation", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		later := d.clock.tick(time.Hour)
		if _, err := d.svc.PutAccount(ctx, d.sys, core.Account{ID: 1, Name: "Acme Ltd"}); err != nil {
			t.Fatal(err)
		}
		var a *core.Account
		d.read(t, func(tx core.ReadTx) (err error) { a, err = tx.Account(ctx, 1); return })
		if a.Name != "Acme Ltd" || !a.CreatedAt.Equal(epoch) || !a.UpdatedAt.Equal(later) {
			t.Errorf("account after update %+v, want name Acme Ltd, created %v, updated %v", a, epoch, later)
		}
	})

	t.Run("LookupsByKey", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		d.write(t, func(tx core.Tx) error { return tx.SetTelegramID(ctx, 300, 4242) })
		tests := []struct {
			name   string
			lookup func(tx core.ReadTx) (*core.User, error)
			want   int64 // 0: ENOTFOUND
		}{
			{"by id", func(tx core.ReadTx) (*core.User, error) { return tx.User(ctx, 300) }, 300},
			{"by missing id", func(tx core.ReadTx) (*core.User, error) { return tx.User(ctx, 301) }, 0},
			{"by email", func(tx core.ReadTx) (*core.User, error) { return tx.UserByEmail(ctx, "cat@example.com") }, 300},
			{"by email in other case", func(tx core.ReadTx) (*core.User, error) { return tx.UserByEmail(ctx, "CAT@Example.COM") }, 300},
			{"by email with spaces", func(tx core.ReadTx) (*core.User, error) { return tx.UserByEmail(ctx, " cat@example.com ") }, 300},
			{"by unknown email", func(tx core.ReadTx) (*core.User, error) { return tx.UserByEmail(ctx, "dog@example.com") }, 0},
			{"by Telegram id", func(tx core.ReadTx) (*core.User, error) { return tx.UserByTelegramID(ctx, 4242) }, 300},
			{"by unknown Telegram id", func(tx core.ReadTx) (*core.User, error) { return tx.UserByTelegramID(ctx, 4243) }, 0},
			{"by unknown API key", func(tx core.ReadTx) (*core.User, error) { return tx.UserByAPIKeyHash(ctx, core.HashAPIKey("hdk_nope")) }, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var u *core.User
				err := d.store.Read(ctx, func(tx core.ReadTx) (err error) { u, err = tt.lookup(tx); return })
				if tt.want == 0 {
					wantCode(t, "lookup", err, core.ENOTFOUND)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := core.User{ID: 300, Email: "cat@example.com", Name: "Cat", Role: core.RoleCustomer,
					AccountIDs: []int64{1, 2}, DefaultAccountID: 2, TelegramID: 4242}
				if u.ID != want.ID || u.Email != want.Email || u.Name != want.Name || u.Role != want.Role ||
					!slices.Equal(u.AccountIDs, want.AccountIDs) || u.DefaultAccountID != want.DefaultAccountID ||
					u.TelegramID != want.TelegramID || !u.CreatedAt.Equal(epoch) {
					t.Errorf("got %+v, want %+v created %v", u, want, epoch)
				}
			})
		}
	})

	t.Run("EmailKeepsItsCaseAndMatchesInAnyCase", func(t *testing.T) {
		// The service lower-cases addresses; one written through the port as it came is kept
		// so, yet found, and taken, in any case.
		d := newDesk(t, open, core.Options{})
		d.write(t, func(tx core.Tx) error {
			return tx.PutUser(ctx, &core.User{ID: 400, Email: "Dan@Example.com", Name: "Dan", Role: core.RoleCustomer, CreatedAt: epoch, UpdatedAt: epoch})
		})
		var u *core.User
		d.read(t, func(tx core.ReadTx) (err error) { u, err = tx.UserByEmail(ctx, "dan@example.COM"); return })
		if u.ID != 400 || u.Email != "Dan@Example.com" {
			t.Errorf("user by email %+v, want 400 with Dan@Example.com", u)
		}
		_, err := d.svc.PutUser(ctx, d.sys, core.User{ID: 401, Email: "dan@example.com", Name: "Other"})
		wantCode(t, "another user with the address in lower case", err, core.ECONFLICT)
		// The owner may change the case of their own address.
		if got, err := d.svc.PutUser(ctx, d.sys, core.User{ID: 400, Email: "DAN@example.com", Name: "Dan"}); err != nil || got.Email != "dan@example.com" {
			t.Errorf("owner lower-casing their address: %+v, %v", got, err)
		}
	})

	t.Run("UserUpsertReplacesMemberships", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		later := d.clock.tick(time.Hour)
		got, err := d.svc.PutUser(ctx, d.sys, core.User{ID: 300, Email: "cat@example.com", Name: "Cat B", AccountIDs: []int64{1}, Language: "pt-BR"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.AccountIDs, []int64{1}) || got.DefaultAccountID != 0 || got.Language != "pt-BR" ||
			got.Name != "Cat B" || !got.CreatedAt.Equal(epoch) || !got.UpdatedAt.Equal(later) {
			t.Errorf("PutUser returned %+v, want accounts [1], no default, pt-BR, created %v, updated %v", got, epoch, later)
		}
		var u *core.User
		d.read(t, func(tx core.ReadTx) (err error) { u, err = tx.User(ctx, 300); return })
		if !slices.Equal(u.AccountIDs, []int64{1}) || u.Language != "pt-BR" {
			t.Errorf("stored %+v, want accounts [1], pt-BR", u)
		}
		// Staff belong to no account: the memberships go, the user stays.
		d.write(t, func(tx core.Tx) error {
			u := *u
			u.AccountIDs, u.DefaultAccountID, u.Role = nil, 0, core.RoleStaff
			return tx.PutUser(ctx, &u)
		})
		d.read(t, func(tx core.ReadTx) (err error) { u, err = tx.User(ctx, 300); return })
		if len(u.AccountIDs) != 0 || u.Role != core.RoleStaff {
			t.Errorf("stored %+v, want a staff user of no account", u)
		}
	})

	t.Run("UserErrors", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tests := []struct {
			name string
			put  func() error
			want string
		}{
			{"taken email through the port, other case", func() error {
				return d.store.Write(ctx, func(tx core.Tx) error {
					return tx.PutUser(ctx, &core.User{ID: 400, Email: "ANN@acme.example", Name: "X", Role: core.RoleCustomer, CreatedAt: epoch, UpdatedAt: epoch})
				})
			}, core.ECONFLICT},
			{"taken email through the service", func() error {
				_, err := d.svc.PutUser(ctx, d.sys, core.User{ID: 400, Email: "Ann@Acme.example", Name: "X"})
				return err
			}, core.ECONFLICT},
			{"missing account through the port", func() error {
				return d.store.Write(ctx, func(tx core.Tx) error {
					return tx.PutUser(ctx, &core.User{ID: 400, Email: "x@example.com", Name: "X", Role: core.RoleCustomer, AccountIDs: []int64{1, 99}, CreatedAt: epoch, UpdatedAt: epoch})
				})
			}, core.ENOTFOUND},
			{"missing account through the service", func() error {
				_, err := d.svc.PutUser(ctx, d.sys, core.User{ID: 400, Email: "x@example.com", Name: "X", AccountIDs: []int64{99}})
				return err
			}, core.EINVALID},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, "put user", tt.put(), tt.want)
				// A refused user leaves nothing behind.
				err := d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.User(ctx, 400); return err })
				wantCode(t, "user 400 after the refusal", err, core.ENOTFOUND)
			})
		}
		// The refused address change leaves Ann's address hers.
		_, err := d.svc.PutUser(ctx, d.sys, core.User{ID: 200, Email: "ann@acme.example", Name: "Bob", AccountIDs: []int64{2}})
		wantCode(t, "Bob taking Ann's address", err, core.ECONFLICT)
		if fields := core.ErrorFields(err); len(fields) != 1 || fields[0].Field != "email" {
			t.Errorf("conflict fields %v, want one on email", fields)
		}
		var u *core.User
		d.read(t, func(tx core.ReadTx) (err error) { u, err = tx.UserByEmail(ctx, "ann@acme.example"); return })
		if u.ID != 100 {
			t.Errorf("ann@acme.example belongs to user %d, want 100", u.ID)
		}
	})

	t.Run("Properties", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		for _, p := range []core.Property{{ID: 12, AccountID: 1, Name: "b.acme.example"}, {ID: 11, AccountID: 1, Name: "a.acme.example"}} {
			if _, err := d.svc.PutProperty(ctx, d.sys, p); err != nil {
				t.Fatal(err)
			}
		}
		names := func(accountID int64) []string {
			var list []core.Property
			d.read(t, func(tx core.ReadTx) (err error) { list, err = tx.Properties(ctx, accountID); return })
			if list == nil {
				t.Errorf("properties of account %d: nil, want a list", accountID)
			}
			out := []string{}
			for _, p := range list {
				if p.AccountID != accountID {
					t.Errorf("property %d of account %d listed for %d", p.ID, p.AccountID, accountID)
				}
				out = append(out, p.Name)
			}
			return out
		}
		if got, want := names(1), []string{"a.acme.example", "acme.example", "b.acme.example"}; !slices.Equal(got, want) {
			t.Errorf("properties of account 1 %v, want %v (by name)", got, want)
		}
		if got := names(99); len(got) != 0 {
			t.Errorf("properties of a missing account %v, want none", got)
		}
		// An upsert may move a property to another account.
		if _, err := d.svc.PutProperty(ctx, d.sys, core.Property{ID: 12, AccountID: 2, Name: "b.globex.example"}); err != nil {
			t.Fatal(err)
		}
		if got, want := names(2), []string{"b.globex.example", "globex.example"}; !slices.Equal(got, want) {
			t.Errorf("properties of account 2 after the move %v, want %v", got, want)
		}
		var p *core.Property
		d.read(t, func(tx core.ReadTx) (err error) { p, err = tx.Property(ctx, 12); return })
		if p.AccountID != 2 || p.Name != "b.globex.example" || !p.CreatedAt.Equal(epoch) {
			t.Errorf("property 12 %+v, want account 2, created %v", p, epoch)
		}
		err := d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.Property(ctx, 13); return err })
		wantCode(t, "missing property", err, core.ENOTFOUND)
		err = d.store.Write(ctx, func(tx core.Tx) error {
			return tx.PutProperty(ctx, &core.Property{ID: 13, AccountID: 99, Name: "x", CreatedAt: epoch, UpdatedAt: epoch})
		})
		wantCode(t, "property of a missing account through the port", err, core.ENOTFOUND)
		_, err = d.svc.PutProperty(ctx, d.sys, core.Property{ID: 13, AccountID: 99, Name: "x"})
		wantCode(t, "property of a missing account through the service", err, core.EINVALID)
	})

	t.Run("Departments", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		if _, err := d.svc.PutDepartment(ctx, d.sys, core.Department{ID: 3, Name: "Abuse"}); err != nil {
			t.Fatal(err)
		}
		var list []core.Department
		d.read(t, func(tx core.ReadTx) (err error) { list, err = tx.Departments(ctx); return })
		if len(list) != 2 || list[0].Name != "Abuse" || list[1].Name != "Billing" {
			t.Errorf("departments %+v, want Abuse, Billing", list)
		}
		var dep *core.Department
		d.read(t, func(tx core.ReadTx) (err error) { dep, err = tx.Department(ctx, 7); return })
		if dep.Name != "Billing" || !dep.CreatedAt.Equal(epoch) {
			t.Errorf("department 7 %+v", dep)
		}
		err := d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.Department(ctx, 8); return err })
		wantCode(t, "missing department", err, core.ENOTFOUND)
	})

	t.Run("APIKeys", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		k, key, err := d.svc.CreateAPIKey(ctx, d.sys, 100)
		if err != nil {
			t.Fatal(err)
		}
		if k.ID == 0 {
			t.Error("CreateAPIKey left the key's ID 0")
		}
		k2, _, err := d.svc.CreateAPIKey(ctx, d.sys, 100)
		if err != nil {
			t.Fatal(err)
		}
		var u *core.User
		d.read(t, func(tx core.ReadTx) (err error) { u, err = tx.UserByAPIKeyHash(ctx, core.HashAPIKey(key)); return })
		if u.ID != 100 || !slices.Equal(u.AccountIDs, []int64{1}) {
			t.Errorf("key's user %+v, want Ann with account 1", u)
		}
		err = d.store.Write(ctx, func(tx core.Tx) error { return tx.DeleteAPIKey(ctx, 200, k.ID) })
		wantCode(t, "deleting Ann's key as Bob's", err, core.ENOTFOUND)
		d.write(t, func(tx core.Tx) error { return tx.DeleteAPIKey(ctx, 100, k.ID) })
		err = d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.UserByAPIKeyHash(ctx, core.HashAPIKey(key)); return err })
		wantCode(t, "revoked key", err, core.ENOTFOUND)
		err = d.store.Write(ctx, func(tx core.Tx) error { return tx.DeleteAPIKey(ctx, 100, k.ID) })
		wantCode(t, "deleting a deleted key", err, core.ENOTFOUND)
		// The other key of the same user still works.
		d.read(t, func(tx core.ReadTx) (err error) { u, err = tx.UserByAPIKeyHash(ctx, k2.Hash); return })
		if u.ID != 100 {
			t.Errorf("second key's user %d, want 100", u.ID)
		}
	})
}

package storetest

import (
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// runCanned: the canned replies' ports store what they are given, find a reply by ID and by
// name, list by name, keep names unique, and answer ENOTFOUND for what is not there.
func runCanned(t *testing.T, open Opener) {
	d := newDesk(t, open, core.Options{})
	resolved := core.StatusResolved
	a := core.CannedReply{Name: "welcome", Body: "Hi {{customer.name}}", CreatedAt: epoch, UpdatedAt: epoch, UpdatedBy: 900}
	b := core.CannedReply{Name: "done", Body: "Solved.", Status: &resolved, CreatedAt: epoch, UpdatedAt: epoch.Add(time.Second), UpdatedBy: 901}
	d.write(t, func(tx core.Tx) error {
		if err := tx.CreateCannedReply(ctx, &a); err != nil {
			return err
		}
		return tx.CreateCannedReply(ctx, &b)
	})
	if a.ID == 0 || b.ID <= a.ID {
		t.Fatalf("canned IDs %d, %d, want increasing", a.ID, b.ID)
	}
	same := func(what string, got *core.CannedReply, want core.CannedReply) {
		t.Helper()
		if got.ID != want.ID || got.Name != want.Name || got.Body != want.Body || statusOf(got.Status) != statusOf(want.Status) ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.UpdatedBy != want.UpdatedBy {
			t.Errorf("%s: %+v, want %+v", what, got, want)
		}
	}
	d.read(t, func(tx core.ReadTx) error {
		got, err := tx.CannedReply(ctx, b.ID)
		if err != nil {
			return err
		}
		same("by id", got, b)
		if got, err = tx.CannedReplyByName(ctx, "welcome"); err != nil {
			return err
		}
		same("by name", got, a)
		list, err := tx.CannedReplies(ctx)
		if err != nil {
			return err
		}
		if len(list) != 2 {
			t.Fatalf("list %+v, want two", list)
		}
		same("first by name", &list[0], b)
		same("second by name", &list[1], a)
		for _, err := range []error{
			func() error { _, err := tx.CannedReply(ctx, b.ID+10); return err }(),
			func() error { _, err := tx.CannedReplyByName(ctx, "nope"); return err }(),
		} {
			if core.ErrorCode(err) != core.ENOTFOUND {
				t.Errorf("missing canned reply: %v, want ENOTFOUND", err)
			}
		}
		return nil
	})

	// A name another reply has is a conflict, and the failed write keeps nothing.
	dup := core.CannedReply{Name: "done", Body: "x", CreatedAt: epoch, UpdatedAt: epoch}
	if err := d.store.Write(ctx, func(tx core.Tx) error { return tx.CreateCannedReply(ctx, &dup) }); core.ErrorCode(err) != core.ECONFLICT {
		t.Errorf("duplicate name on create: %v, want ECONFLICT", err)
	}
	a2 := a
	a2.Name = "done"
	if err := d.store.Write(ctx, func(tx core.Tx) error { return tx.UpdateCannedReply(ctx, &a2) }); core.ErrorCode(err) != core.ECONFLICT {
		t.Errorf("duplicate name on update: %v, want ECONFLICT", err)
	}

	// Update replaces everything but the creation time; a status can be cleared.
	b.Name, b.Body, b.Status, b.UpdatedAt, b.UpdatedBy = "solved", "All done.", nil, epoch.Add(time.Minute), 900
	b.CreatedAt = epoch
	d.write(t, func(tx core.Tx) error { return tx.UpdateCannedReply(ctx, &b) })
	d.read(t, func(tx core.ReadTx) error {
		got, err := tx.CannedReply(ctx, b.ID)
		if err != nil {
			return err
		}
		same("updated", got, b)
		return nil
	})
	missing := core.CannedReply{ID: b.ID + 10, Name: "zzz", Body: "x", UpdatedAt: epoch}
	if err := d.store.Write(ctx, func(tx core.Tx) error { return tx.UpdateCannedReply(ctx, &missing) }); core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("update of a missing one: %v, want ENOTFOUND", err)
	}

	d.write(t, func(tx core.Tx) error { return tx.DeleteCannedReply(ctx, a.ID) })
	if err := d.store.Write(ctx, func(tx core.Tx) error { return tx.DeleteCannedReply(ctx, a.ID) }); core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("second delete: %v, want ENOTFOUND", err)
	}
	d.read(t, func(tx core.ReadTx) error {
		list, err := tx.CannedReplies(ctx)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("after delete %+v, want only %d", list, b.ID)
		}
		return nil
	})
}

func statusOf(st *core.Status) int {
	if st == nil {
		return -1
	}
	return int(*st)
}

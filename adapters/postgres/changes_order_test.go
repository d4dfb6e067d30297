package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// TestChanges_FeedFollowsCommitOrder: a write takes its change's ID first and commits
// last, after a write that took a later ID. A reader that paged past the second must still
// get the first after its commit: the feed is numbered in commit order, not by ID.
func TestChanges_FeedFollowsCommitOrder(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	feed := func(after int64) []core.Change {
		t.Helper()
		var out []core.Change
		if err := db.Read(ctx, func(tx core.ReadTx) error {
			var err error
			out, err = tx.Changes(ctx, core.ChangeFilter{After: after, Limit: 100})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	add := func(tx core.Tx, detail string) *core.Change {
		c := &core.Change{Type: core.ChangeInboundRejected, At: time.Now(), Internal: true, Detail: detail}
		if err := tx.AddChange(ctx, c); err != nil {
			t.Error(err)
		}
		return c
	}
	added, release, done := make(chan *core.Change, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.Write(ctx, func(tx core.Tx) error {
			added <- add(tx, "first ID, last commit")
			<-release
			return nil
		})
	}()
	early := <-added
	var late *core.Change
	if err := db.Write(ctx, func(tx core.Tx) error { late = add(tx, "later ID, first commit"); return nil }); err != nil {
		t.Fatal(err)
	}
	if late.ID <= early.ID {
		t.Fatalf("IDs %d then %d: the test needs the open write's to be the lower", early.ID, late.ID)
	}
	seen := feed(0)
	if len(seen) != 1 || seen[0].ID != late.ID {
		t.Fatalf("feed while the first write is open: %+v, want only the committed change", seen)
	}
	cursor := seen[0].Seq
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	next := feed(cursor)
	if len(next) != 1 || next[0].ID != early.ID || next[0].Seq <= cursor {
		t.Fatalf("feed after %d once the first write committed: %+v, want change %d after the cursor", cursor, next, early.ID)
	}
	if all := feed(0); len(all) != 2 || all[0].ID != late.ID || all[1].ID != early.ID {
		t.Errorf("whole feed %+v, want commit order", all)
	}
}

package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

func runAudit(t *testing.T, open Opener) {
	d := newDesk(t, open, core.Options{})
	in := []core.AuditEntry{
		{At: epoch, ActorUserID: 9, Action: "canned_reply.create", Subject: "canned_reply:1", Detail: "name greeting"},
		{At: epoch.Add(time.Second), Action: "user.export", Subject: "user:7"},
		{At: epoch.Add(2 * time.Second), ActorUserID: 9, Action: "canned_reply.update", Subject: "canned_reply:1"},
	}
	for i := range in {
		d.write(t, func(tx core.Tx) error { return tx.AddAudit(ctx, &in[i]) })
		if in[i].ID == 0 || (i > 0 && in[i].ID <= in[i-1].ID) {
			t.Fatalf("audit IDs %+v, want increasing", in)
		}
	}
	list := func(f core.AuditFilter) []int64 {
		var got []core.AuditEntry
		d.read(t, func(tx core.ReadTx) (err error) { got, err = tx.AuditLog(ctx, f); return })
		ids := []int64{}
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		return ids
	}
	var all []core.AuditEntry
	d.read(t, func(tx core.ReadTx) (err error) { all, err = tx.AuditLog(ctx, core.AuditFilter{}); return })
	if len(all) != 3 || all[0].ID != in[2].ID || !all[2].At.Equal(epoch) || all[2].ActorUserID != 9 || all[2].Detail != "name greeting" ||
		all[1].ActorUserID != 0 || all[1].Action != "user.export" || all[1].Subject != "user:7" {
		t.Errorf("audit log %+v, want the three newest first as written", all)
	}
	for _, c := range []struct {
		name string
		f    core.AuditFilter
		want []int64
	}{
		{"by subject", core.AuditFilter{Subject: "canned_reply:1"}, []int64{in[2].ID, in[0].ID}},
		{"by action", core.AuditFilter{Action: "user.export"}, []int64{in[1].ID}},
		{"limit", core.AuditFilter{Limit: 1}, []int64{in[2].ID}},
		{"nothing", core.AuditFilter{Subject: "user:8"}, []int64{}},
	} {
		if got := list(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

package sqlite_test

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"
)

// TestQueue_SearchCapAndScan checks the bounds of a staff search with small ones: a count
// that stops at SearchCap tickets, pages that end there, and a filtered walk that stops after
// the SearchScan newest matching messages; below both bounds the answer is exact.
func TestQueue_SearchCapAndScan(t *testing.T) {
	f := newFixture(t, core.Options{SearchCap: 3, SearchScan: 8})
	open := func(who core.Actor, acct int64, text string) int64 {
		t.Helper()
		tk, err := f.svc.CreateTicket(ctx, who, core.NewTicket{AccountID: acct, Subject: "Help", Description: text})
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	// Oldest first: t1 holds the only "toner" message of account 1, older than the nine
	// "toner" messages of t8 that fill the scan.
	t1 := open(f.ann, 1, "printer jam, toner low")
	t2 := open(f.ann, 1, "printer offline")
	t3 := open(f.ann, 1, "printer queue stuck")
	t4 := open(f.bob, 2, "printer driver")
	t5 := open(f.bob, 2, "printer paper")
	t6 := open(f.ann, 1, "scanner broken")
	t7 := open(f.bob, 2, "scanner slow")
	t8 := open(f.bob, 2, "toner empty")
	for range 8 {
		if _, err := f.svc.StaffReply(ctx, f.sam, t8, core.NewReply{Body: "more toner on its way"}); err != nil {
			t.Fatal(err)
		}
	}
	acct1, acct2 := int64(1), int64(2)
	tests := []struct {
		name   string
		filter core.QueueFilter
		want   []int64
		total  core.QueueCount
	}{
		{"under the cap: exact", core.QueueFilter{Search: "scanner"}, []int64{t7, t6}, core.QueueCount{N: 2}},
		{"over the cap: capped, newest matches", core.QueueFilter{Search: "printer"}, []int64{t5, t4, t3}, core.QueueCount{N: 3, Capped: true}},
		{"capped, second page ends at the cap", core.QueueFilter{Search: "printer", Page: core.Page{Number: 2, Size: 2}}, []int64{t3}, core.QueueCount{N: 3, Capped: true}},
		{"capped, page past the cap", core.QueueFilter{Search: "printer", Page: core.Page{Number: 3, Size: 2}}, []int64{}, core.QueueCount{N: 3, Capped: true}},
		{"capped, the same tickets oldest first", core.QueueFilter{Search: "printer", Order: "asc"}, []int64{t3, t4, t5}, core.QueueCount{N: 3, Capped: true}},
		{"a filter brings it under the cap", core.QueueFilter{Search: "printer", AccountID: &acct2}, []int64{t5, t4}, core.QueueCount{N: 2}},
		{"exact page past the end", core.QueueFilter{Search: "printer", AccountID: &acct2, Page: core.Page{Number: 2, Size: 2}}, []int64{}, core.QueueCount{N: 2}},
		{"no filter, no scan bound: exact", core.QueueFilter{Search: "toner"}, []int64{t8, t1}, core.QueueCount{N: 2}},
		{"past the scan with a filter: found so far, capped", core.QueueFilter{Search: "toner", AccountID: &acct2}, []int64{t8}, core.QueueCount{N: 1, Capped: true}},
		{"past the scan with a filter: none found, capped", core.QueueFilter{Search: "toner", AccountID: &acct1}, []int64{}, core.QueueCount{N: 0, Capped: true}},
		{"nothing found", core.QueueFilter{Search: "fax"}, []int64{}, core.QueueCount{}},
		{"no search: never capped", core.QueueFilter{AccountID: &acct1}, []int64{t6, t3, t2, t1}, core.QueueCount{N: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, total, err := f.svc.Queue(ctx, f.sam, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			got := []int64{}
			for _, it := range list {
				got = append(got, it.Ticket.ID)
			}
			if !slices.Equal(got, tt.want) || total != tt.total {
				t.Fatalf("got %v %+v, want %v %+v", got, total, tt.want, tt.total)
			}
		})
	}
}

// TestSearch_FindsWhatWasJustWritten: the writer indexes messages a moment after their
// commit, not in it; a search must not see that moment, and a restart must not leave
// messages out of the index for good.
func TestSearch_FindsWhatWasJustWritten(t *testing.T) {
	f := newFixture(t, core.Options{})
	for i := range 20 {
		text := fmt.Sprintf("word%d", i)
		tk, err := f.svc.CreateTicket(ctx, f.ann, core.NewTicket{AccountID: 1, Subject: "Help", Description: text})
		if err != nil {
			t.Fatal(err)
		}
		list, _, err := f.svc.Queue(ctx, f.sam, core.QueueFilter{Search: text})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Ticket.ID != tk.ID {
			t.Fatalf("search for %q right after its ticket: %d hits, want ticket %d", text, len(list), tk.ID)
		}
	}

	// As a crash before the index caught up would leave it: every message unindexed.
	path := f.db.Path()
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM ticket_search; UPDATE search_progress SET last_message_id = 0`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Without any search or write, the writer catches up by itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var last, newest int64
		if err := rawQuery(path, &last, &newest); err != nil {
			t.Fatal(err)
		}
		if newest > 0 && last == newest {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search index at message %d of %d 10 s after start", last, newest)
		}
		time.Sleep(20 * time.Millisecond)
	}
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	list, _, err := svc.Queue(ctx, f.sam, core.QueueFilter{Search: "word7"})
	if err != nil || len(list) != 1 {
		t.Fatalf("search after restart: %d hits, %v; want 1", len(list), err)
	}
}

func rawQuery(path string, last, newest *int64) error {
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer raw.Close()
	return raw.QueryRow(`SELECT last_message_id, (SELECT max(id) FROM messages) FROM search_progress`).Scan(last, newest)
}

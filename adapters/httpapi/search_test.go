package httpapi_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

// withSearchCap makes a search stop counting at n tickets, so a test needs only a few.
func withSearchCap(n int) envOption {
	return func(c *core.Options, _ *httpapi.Options) { c.SearchCap = n }
}

// TestStaffQueue_SearchCap checks the envelope of a search over the cap: totalRecords is the
// cap, totalPages what the cap lets a client reach, and totalRecordsCapped true; below the cap
// the count is exact and the field absent. Every answer is also checked against the OpenAPI
// document (checkResponses), where the field is described.
func TestStaffQueue_SearchCap(t *testing.T) {
	e := newEnv(t, withSearchCap(2))
	var mailbox []int64
	for i := range 3 {
		mailbox = append(mailbox, e.createTicket(e.alice, acctA, map[string]any{"description": fmt.Sprintf("mailbox full %d", i)}))
	}
	dns := e.createTicket(e.bob, acctB, map[string]any{"description": "dns record"})
	tests := []struct {
		query      string
		want       []int64
		total      int
		totalPages int
		capped     bool
	}{
		{"q=mailbox", []int64{mailbox[2], mailbox[1]}, 2, 1, true},
		{"q=mailbox&pageSize=1&pageNumber=2", []int64{mailbox[1]}, 2, 2, true},
		{"q=mailbox&pageSize=1&pageNumber=3", []int64{}, 2, 2, true},
		{"q=dns", []int64{dns}, 1, 1, false},
		{"q=full&accountId=202", []int64{}, 0, 0, false},
		{"status=0", []int64{dns, mailbox[2], mailbox[1], mailbox[0]}, 4, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, r := e.queue(tt.query)
			capped, present := r.raw["totalRecordsCapped"]
			if !slices.Equal(ids(got), tt.want) || r.env.TotalRecords != tt.total || r.env.TotalPages != tt.totalPages ||
				present != tt.capped || (present && string(capped) != "true") {
				t.Fatalf("got %v, envelope %+v, totalRecordsCapped %s; want %v, %d records, %d pages, capped %v",
					ids(got), r.env, capped, tt.want, tt.total, tt.totalPages, tt.capped)
			}
		})
	}
}

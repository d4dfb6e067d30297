package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

// The SLA tests' desk works 09:00–18:00 Monday to Friday in Sofia (UTC+2 in December).
// Every ticket gets the default policy (first response 4h, resolution 16h), Billing tickets
// (topic 3) a first response of 1h; staff are warned 30 minutes of business time before.

const (
	slaStaffChat = "-100"
	slaDeskMail  = "desk@helpdesk.test"
)

func slaZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Sofia")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// slaOptions is the tests' SLA configuration, with the given holidays and first response.
func slaOptions(loc *time.Location, firstResponse time.Duration, holidays ...string) core.SLAOptions {
	cal := &core.Calendar{Name: "office", Location: loc, Holidays: map[string]bool{}}
	for d := time.Monday; d <= time.Friday; d++ {
		cal.Week[d] = []core.Span{{From: 9 * time.Hour, To: 18 * time.Hour}}
	}
	for _, h := range holidays {
		cal.Holidays[h] = true
	}
	billing := core.TopicBilling
	return core.SLAOptions{WarnBefore: 30 * time.Minute, Policies: []core.SLAPolicy{
		{Name: "default", Calendar: cal, FirstResponse: firstResponse, Resolution: 16 * time.Hour},
		{Name: "topic=3", Topic: &billing, Calendar: cal, FirstResponse: time.Hour},
	}}
}

// withSLA turns the tests' SLA on, with staff told by email and in the Telegram staff chat.
func withSLA(loc *time.Location, holidays ...string) envOption {
	return func(c *core.Options, _ *httpapi.Options) {
		c.SLA = slaOptions(loc, 4*time.Hour, holidays...)
		c.Notify = core.NotifyOptions{Email: true, Telegram: true, StaffEmails: []string{slaDeskMail}, StaffChatID: -100}
	}
}

// slaRow is a queue row's SLA fields.
type slaRow struct {
	ID                 int64   `json:"id"`
	DueAt              *string `json:"dueAt"`
	Overdue            bool    `json:"overdue"`
	FirstResponseDueAt *string `json:"firstResponseDueAt"`
	FirstResponseAt    *string `json:"firstResponseAt"`
	ResolutionDueAt    *string `json:"resolutionDueAt"`
	SLAPaused          bool    `json:"slaPaused"`
	Breached           bool    `json:"breached"`
}

func (r slaRow) String() string {
	return fmt.Sprintf("{id %d dueAt %s overdue %v firstResponseDueAt %s firstResponseAt %s resolutionDueAt %s slaPaused %v breached %v}",
		r.ID, slaStr(r.DueAt), r.Overdue, slaStr(r.FirstResponseDueAt), slaStr(r.FirstResponseAt), slaStr(r.ResolutionDueAt), r.SLAPaused, r.Breached)
}

// slaQueue lists the queue with a query and returns its rows' SLA fields.
func (e *testEnv) slaQueue(query string) []slaRow {
	e.t.Helper()
	r := e.json("GET", "/api/staff/Ticket?"+query, e.staff, nil)
	expect(e.t, r, http.StatusOK)
	var rows []slaRow
	r.data(e.t, &rows)
	return rows
}

// slaRowOf is the queue row of ticket id.
func (e *testEnv) slaRowOf(id int64) slaRow {
	e.t.Helper()
	for _, r := range e.slaQueue("pageSize=100") {
		if r.ID == id {
			return r
		}
	}
	e.t.Fatalf("ticket %d is not in the queue", id)
	return slaRow{}
}

// checkSLAs runs the SLA job once, as the daemon's loop does each minute.
func (e *testEnv) checkSLAs() core.SLACheck {
	e.t.Helper()
	res, err := e.svc.CheckSLAs(context.Background())
	if err != nil {
		e.t.Fatalf("CheckSLAs: %v", err)
	}
	return res
}

// scrape returns the /metrics text.
func (e *testEnv) scrape() string {
	e.t.Helper()
	res := e.request("GET", "/metrics", "", "", nil)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

func slaUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func slaStr(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func TestSLA_DueTimeCountsBusinessHours(t *testing.T) {
	loc := slaZone(t)
	friday := time.Date(2026, 12, 4, 17, 55, 0, 0, loc)
	tests := []struct {
		name     string
		holidays []string
		first    time.Time // first response due
		res      time.Time // resolution due: 16h of business time
	}{
		{"Friday 17:55 is due Monday 12:55", nil,
			time.Date(2026, 12, 7, 12, 55, 0, 0, loc), time.Date(2026, 12, 8, 15, 55, 0, 0, loc)},
		{"a holiday on Monday moves it to Tuesday", []string{"2026-12-07"},
			time.Date(2026, 12, 8, 12, 55, 0, 0, loc), time.Date(2026, 12, 9, 15, 55, 0, 0, loc)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withSLA(loc, tt.holidays...))
			e.clock.Set(friday)
			id := e.createTicket(e.alice, acctA, nil)
			row := e.slaRowOf(id)
			if slaStr(row.FirstResponseDueAt) != slaUTC(tt.first) || slaStr(row.DueAt) != slaUTC(tt.first) {
				t.Errorf("firstResponseDueAt %s, dueAt %s, want both %s", slaStr(row.FirstResponseDueAt), slaStr(row.DueAt), slaUTC(tt.first))
			}
			if slaStr(row.ResolutionDueAt) != slaUTC(tt.res) {
				t.Errorf("resolutionDueAt %s, want %s", slaStr(row.ResolutionDueAt), slaUTC(tt.res))
			}
			if row.Breached || row.Overdue || row.SLAPaused || row.FirstResponseAt != nil {
				t.Errorf("a new ticket's row %v", row)
			}
			// The staff detail carries the same fields.
			r := e.json("GET", fmt.Sprintf("/api/staff/Ticket/%d", id), e.staff, nil)
			expect(t, r, http.StatusOK)
			var d slaRow
			r.data(t, &d)
			if slaStr(d.FirstResponseDueAt) != slaUTC(tt.first) {
				t.Errorf("detail firstResponseDueAt %s, want %s", slaStr(d.FirstResponseDueAt), slaUTC(tt.first))
			}
		})
	}
}

func TestSLA_PolicyByTopicAndNoPolicyNoSLA(t *testing.T) {
	loc := slaZone(t)
	e := newEnv(t, withSLA(loc))
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, loc)
	e.clock.Set(monday)
	billing := e.createTicket(e.alice, acctA, map[string]any{"topic": int(core.TopicBilling)})
	if row := e.slaRowOf(billing); slaStr(row.FirstResponseDueAt) != slaUTC(monday.Add(time.Hour)) || row.ResolutionDueAt != nil {
		t.Errorf("Billing ticket: first response %s (want %s), resolution %s (want none)",
			slaStr(row.FirstResponseDueAt), slaUTC(monday.Add(time.Hour)), slaStr(row.ResolutionDueAt))
	}

	plain := newEnv(t)
	plain.clock.Set(monday)
	id := plain.createTicket(plain.alice, acctA, nil)
	if row := plain.slaRowOf(id); row.DueAt != nil || row.FirstResponseDueAt != nil || row.ResolutionDueAt != nil || row.Breached {
		t.Errorf("without policies a ticket has no SLA: %v", row)
	}
}

func TestSLA_WarningSentOnceThenBreachCountedOnce(t *testing.T) {
	loc := slaZone(t)
	e := newEnv(t, withSLA(loc))
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, loc) // first response due 13:00
	e.clock.Set(monday)
	id := e.createTicket(e.alice, acctA, nil)
	want := map[string]int{slaDeskMail: 1, slaStaffChat: 1}

	e.clock.Set(monday.Add(3*time.Hour + 29*time.Minute)) // 31 minutes left
	if res := e.checkSLAs(); res.Warned != 0 {
		t.Fatalf("warned %d with 31 minutes left", res.Warned)
	}
	if got := e.sent(core.NotifySLAWarning, id); len(got) != 0 {
		t.Fatalf("a warning before warn_before: %v", got)
	}
	e.clock.Set(monday.Add(3*time.Hour + 31*time.Minute))
	if res := e.checkSLAs(); res.Warned != 1 || res.Breached != 0 {
		t.Fatalf("CheckSLAs = %+v, want one warning", res)
	}
	e.clock.Advance(4 * time.Minute)
	e.checkSLAs()
	if got := e.sent(core.NotifySLAWarning, id); !slaSameCounts(got, want) {
		t.Fatalf("warnings %v, want one to the staff address and one to the staff chat", got)
	}
	if e.slaRowOf(id).Breached {
		t.Fatal("breached before the due time")
	}

	e.clock.Set(monday.Add(4*time.Hour + time.Minute))
	if res := e.checkSLAs(); res.Breached != 1 || res.Warned != 0 {
		t.Fatalf("CheckSLAs past the due time = %+v, want one breach and no second warning", res)
	}
	e.clock.Advance(5 * time.Minute)
	if res := e.checkSLAs(); res.Breached != 0 {
		t.Fatalf("a breach counted twice: %+v", res)
	}
	if got := e.sent(core.NotifySLAWarning, id); !slaSameCounts(got, want) {
		t.Errorf("warnings after the breach %v, want still one each", got)
	}
	row := e.slaRowOf(id)
	if !row.Breached || !row.Overdue {
		t.Errorf("row after the breach %v, want breached and overdue", row)
	}
	if m := e.scrape(); !strings.Contains(m, `helpdeskd_sla_breaches_total{target="first_response"} 1`) ||
		!strings.Contains(m, `helpdeskd_sla_breaches_total{target="resolution"} 0`) {
		t.Errorf("metrics do not count one first-response breach:\n%s", slaLines(m, "sla_"))
	}
	// A late first reply records the response without counting the breach again.
	e.staffReply(id, "Looking into it.", false)
	if row := e.slaRowOf(id); row.FirstResponseAt == nil || !row.Breached || slaStr(row.DueAt) != slaStr(row.ResolutionDueAt) {
		t.Errorf("after the late reply %v, want the response recorded, breached, due = resolution due", row)
	}
	if m := e.scrape(); !strings.Contains(m, `helpdeskd_sla_breaches_total{target="first_response"} 1`) {
		t.Errorf("the late reply counted the breach again:\n%s", slaLines(m, "sla_"))
	}
}

func TestSLA_FirstStaffReplyMeetsTheTarget(t *testing.T) {
	loc := slaZone(t)
	e := newEnv(t, withSLA(loc))
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, loc)
	e.clock.Set(monday)
	id := e.createTicket(e.alice, acctA, nil)
	e.clock.Set(monday.Add(time.Hour))
	e.staffReply(id, "An internal note does not count.", true)
	if row := e.slaRowOf(id); row.FirstResponseAt != nil {
		t.Fatalf("an internal note met the first response: %+v", row)
	}
	e.clock.Set(monday.Add(2 * time.Hour))
	e.staffReply(id, "We are on it.", false)
	row := e.slaRowOf(id)
	if slaStr(row.FirstResponseAt) != slaUTC(monday.Add(2*time.Hour)) || row.Breached {
		t.Errorf("after the first reply %v, want firstResponseAt %s, not breached", row, slaUTC(monday.Add(2*time.Hour)))
	}
	// Resolution: 16h from Monday 09:00 is Tuesday 16:00; the due shown is now that.
	if res := slaUTC(time.Date(2026, 12, 8, 16, 0, 0, 0, loc)); slaStr(row.DueAt) != res || slaStr(row.ResolutionDueAt) != res {
		t.Errorf("dueAt %s, resolutionDueAt %s, want %s", slaStr(row.DueAt), slaStr(row.ResolutionDueAt), res)
	}
	e.clock.Set(monday.Add(5 * time.Hour)) // past the first response's due time
	if res := e.checkSLAs(); res.Breached != 0 || res.Warned != 0 {
		t.Errorf("a met first response was checked: %+v", res)
	}
}

func TestSLA_ResolvedPausesTheResolutionClock(t *testing.T) {
	loc := slaZone(t)
	e := newEnv(t, withSLA(loc))
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, loc) // resolution due Tuesday 16:00
	e.clock.Set(monday)
	id := e.createTicket(e.alice, acctA, nil)
	e.clock.Set(monday.Add(30 * time.Minute))
	e.staffReply(id, "Fixed, please check.", false)
	e.clock.Set(monday.Add(time.Hour))
	e.setStatus(id, core.StatusResolved)
	if row := e.slaRowOf(id); !row.SLAPaused || row.DueAt != nil || row.Overdue {
		t.Fatalf("a Resolved ticket's row %+v, want paused with no due time", row)
	}

	// Wednesday 10:00: the old due time passed while paused; nothing is breached.
	wednesday := time.Date(2026, 12, 9, 10, 0, 0, 0, loc)
	e.clock.Set(wednesday)
	if res := e.checkSLAs(); res.Breached != 0 || res.Warned != 0 {
		t.Fatalf("a paused ticket was checked: %+v", res)
	}
	e.customerReply(e.alice, acctA, id, "Still broken.")
	// Paused Monday 10:00 to Wednesday 10:00: 8h + 9h + 1h = 18h of business time, so the
	// resolution is due 16h + 18h after Monday 09:00: Thursday 16:00.
	want := slaUTC(time.Date(2026, 12, 10, 16, 0, 0, 0, loc))
	row := e.slaRowOf(id)
	if row.SLAPaused || slaStr(row.ResolutionDueAt) != want || slaStr(row.DueAt) != want || row.Breached {
		t.Errorf("after the reopen %v, want resumed, resolution due %s", row, want)
	}
	e.clock.Set(time.Date(2026, 12, 10, 16, 1, 0, 0, loc))
	if res := e.checkSLAs(); res.Breached != 1 {
		t.Fatalf("CheckSLAs past the resumed due time = %+v, want one breach", res)
	}
	if m := e.scrape(); !strings.Contains(m, `helpdeskd_sla_breaches_total{target="resolution"} 1`) {
		t.Errorf("metrics do not count the resolution breach:\n%s", slaLines(m, "sla_"))
	}
	// Closing stops it: nothing is shown due, nothing more is checked.
	e.setStatus(id, core.StatusClosed)
	if row := e.slaRowOf(id); row.DueAt != nil || !row.Breached {
		t.Errorf("a Closed ticket's row %v, want no due time, still breached", row)
	}
}

func TestSLA_QueueFiltersAndSortsByDue(t *testing.T) {
	loc := slaZone(t)
	e := newEnv(t, withSLA(loc))
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, loc)
	e.clock.Set(monday)
	general := e.createTicket(e.alice, acctA, nil) // due 13:00
	e.clock.Set(monday.Add(10 * time.Minute))
	billing := e.createTicket(e.alice, acctA, map[string]any{"topic": int(core.TopicBilling)}) // due 10:10
	e.clock.Set(monday.Add(20 * time.Minute))
	overridden := e.createTicket(e.bob, acctB, nil) // due 13:20, but a manual deadline
	manual := time.Date(2026, 12, 7, 9, 40, 0, 0, loc)
	r := e.json("PUT", fmt.Sprintf("/api/staff/Ticket/%d/Deadline", overridden), e.staff, map[string]any{"dueAt": slaUTC(manual)})
	expect(t, r, http.StatusOK)
	if row := e.slaRowOf(overridden); slaStr(row.DueAt) != slaUTC(manual) || slaStr(row.FirstResponseDueAt) != slaUTC(monday.Add(4*time.Hour+20*time.Minute)) {
		t.Errorf("the manual deadline does not override the due time shown: %v", row)
	}

	order := func(query string) []int64 {
		var out []int64
		for _, r := range e.slaQueue(query) {
			out = append(out, r.ID)
		}
		return out
	}
	if got, want := order("sort=due"), []int64{overridden, billing, general}; !slaSameIDs(got, want) {
		t.Errorf("sort=due = %v, want %v", got, want)
	}
	if got, want := order("sort=due&order=desc"), []int64{general, billing, overridden}; !slaSameIDs(got, want) {
		t.Errorf("sort=due&order=desc = %v, want %v", got, want)
	}
	if got := order("breached=true"); len(got) != 0 {
		t.Errorf("breached=true before any breach = %v", got)
	}

	e.clock.Set(monday.Add(time.Hour + 15*time.Minute)) // past the Billing ticket's 10:10
	e.checkSLAs()
	if got, want := order("breached=true"), []int64{billing}; !slaSameIDs(got, want) {
		t.Errorf("breached=true = %v, want %v", got, want)
	}
	// The manual deadline passed too: overdue, but no SLA target is breached.
	if got, want := order("overdue=true&sort=due"), []int64{overridden, billing}; !slaSameIDs(got, want) {
		t.Errorf("overdue=true = %v, want %v", got, want)
	}
	if got := order("breached=true&q=502"); !slaSameIDs(got, []int64{billing}) {
		t.Errorf("breached=true with a search = %v, want %v", got, []int64{billing})
	}

	for _, bad := range []struct{ query, field string }{{"breached=maybe", "breached"}, {"sort=soon", "sort"}} {
		r := e.json("GET", "/api/staff/Ticket?"+bad.query, e.staff, nil)
		expect(t, r, http.StatusBadRequest)
		if !r.hasError(bad.field) {
			t.Errorf("%s: errors %s do not name %s", bad.query, r.body, bad.field)
		}
	}
}

func TestSLA_ChangedPolicyRecomputesOpenTickets(t *testing.T) {
	loc := slaZone(t)
	e := newEnv(t, withSLA(loc))
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, loc)
	e.clock.Set(monday)
	open := e.createTicket(e.alice, acctA, nil)
	closed := e.createTicket(e.alice, acctA, nil)
	e.setStatus(closed, core.StatusClosed)
	e.clock.Set(monday.Add(time.Hour))

	// The daemon's first start stores its configuration's fingerprint.
	if n, err := e.svc.RecomputeSLAs(context.Background(), nil); err != nil || n != 1 {
		t.Fatalf("first RecomputeSLAs = %d, %v; want the one open ticket", n, err)
	}
	if row := e.slaRowOf(open); slaStr(row.FirstResponseDueAt) != slaUTC(monday.Add(4*time.Hour)) {
		t.Fatalf("the unchanged policy moved the due time: %+v", row)
	}
	if n, err := e.svc.RecomputeSLAs(context.Background(), nil); err != nil || n != 0 {
		t.Fatalf("RecomputeSLAs with the same configuration = %d, %v; want nothing done", n, err)
	}

	// A restart with a first response of 2h and Monday a holiday.
	var logs bytes.Buffer
	changed := core.NewService(e.db, e.db.Blobs(), e.clock, core.Options{SLA: slaOptions(loc, 2*time.Hour, "2026-12-07")})
	n, err := changed.RecomputeSLAs(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || n != 1 {
		t.Fatalf("RecomputeSLAs after the change = %d, %v; want the one open ticket", n, err)
	}
	if !strings.Contains(logs.String(), "recomputed") || !strings.Contains(logs.String(), "tickets=1") {
		t.Errorf("the recompute is not logged with its count: %s", logs.String())
	}
	// Counted from Monday 09:00, which is now a holiday: Tuesday 11:00.
	if row := e.slaRowOf(open); slaStr(row.FirstResponseDueAt) != slaUTC(time.Date(2026, 12, 8, 11, 0, 0, 0, loc)) {
		t.Errorf("after the change firstResponseDueAt %s, want Tuesday 11:00", slaStr(row.FirstResponseDueAt))
	}
	if row := e.slaRowOf(closed); row.DueAt != nil {
		t.Errorf("a Closed ticket got a due time: %v", row)
	}
}

func slaSameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func slaSameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// grepLines keeps the lines of s containing sub.
func slaLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Two nodes running the job at the same moment (the lease changing hands mid-run) still warn
// once and count a breach once: each ticket is settled in a write that reads it again.
func TestSLA_TwoJobsAtOnceWarnAndCountOnce(t *testing.T) {
	loc := slaZone(t)
	e := newEnv(t, withSLA(loc))
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, loc)
	e.clock.Set(monday)
	var ids []int64
	for range 5 {
		ids = append(ids, e.createTicket(e.alice, acctA, nil))
	}
	var opts core.Options
	withSLA(loc)(&opts, nil)
	other := core.NewService(e.db, e.db.Blobs(), e.clock, opts)

	run := func(at time.Time) (warned, breached int) {
		e.clock.Set(at)
		results := make(chan core.SLACheck, 2)
		errs := make(chan error, 2)
		for _, svc := range []*core.Service{e.svc, other} {
			go func() {
				res, err := svc.CheckSLAs(context.Background())
				results <- res
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("CheckSLAs: %v", err)
			}
			res := <-results
			warned, breached = warned+res.Warned, breached+res.Breached
		}
		return warned, breached
	}
	if w, b := run(monday.Add(3*time.Hour + 45*time.Minute)); w != len(ids) || b != 0 {
		t.Errorf("two jobs at once warned %d and breached %d, want %d and 0", w, b, len(ids))
	}
	if w, b := run(monday.Add(4*time.Hour + time.Minute)); w != 0 || b != len(ids) {
		t.Errorf("two jobs at once past the due time warned %d and breached %d, want 0 and %d", w, b, len(ids))
	}
	for _, id := range ids {
		if got := e.sent(core.NotifySLAWarning, id); !slaSameCounts(got, map[string]int{slaDeskMail: 1, slaStaffChat: 1}) {
			t.Errorf("ticket %d: warnings %v, want one of each", id, got)
		}
	}
}

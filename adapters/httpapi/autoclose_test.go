package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

const (
	acDay         = 24 * time.Hour
	closeAfter    = 14 * acDay
	closeReminder = 3 * acDay
	aliceTelegram = 55501
)

// withAutoClose turns auto-close on (14 days, reminder 3 days before) and notifications by
// email and Telegram, so that the outbox shows who is told what.
func withAutoClose(c *core.Options, h *httpapi.Options) {
	withNotify(c, h)
	c.Notify.Telegram = true
	c.AutoClose = core.AutoCloseOptions{After: closeAfter, Reminder: closeReminder}
}

// autoCloseStart is a Monday morning: the tests' clock starts there.
var autoCloseStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// runAutoClose runs the job once, as the daemon's loop does each minute.
func (e *testEnv) runAutoClose() core.AutoCloseResult {
	e.t.Helper()
	res, err := e.svc.AutoClose(context.Background())
	if err != nil {
		e.t.Fatalf("AutoClose: %v", err)
	}
	return res
}

// resolvedTicket opens a ticket as Alice, answers it as staff and sets it Resolved now.
func (e *testEnv) resolvedTicket() int64 {
	e.t.Helper()
	id := e.createTicket(e.alice, acctA, nil)
	e.staffReply(id, "Fixed: the origin allows our ranges again.", false)
	e.setStatus(id, core.StatusResolved)
	return id
}

func (e *testEnv) setStatus(id int64, s core.Status) {
	e.t.Helper()
	expect(e.t, e.json("POST", fmt.Sprintf("/api/staff/Ticket/%d/Status", id), e.staff, map[string]any{"status": int(s)}), http.StatusOK)
}

// sent counts the pending notifications of a kind about a ticket, by recipient.
func (e *testEnv) sent(kind core.NotificationKind, ticket int64) map[string]int {
	e.t.Helper()
	out := map[string]int{}
	for _, n := range e.outbox("pending") {
		if n.Event == string(kind) && n.TicketID != nil && *n.TicketID == ticket {
			out[n.Recipient]++
		}
	}
	return out
}

// linkAliceTelegram links Alice to a Telegram account, so that she is told there too.
func (e *testEnv) linkAliceTelegram() {
	e.t.Helper()
	ctx := context.Background()
	code, _, err := e.svc.CreateTelegramLink(ctx, core.Actor{User: &core.User{ID: aliceID, Role: core.RoleCustomer}, Channel: core.ChannelTelegram})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.LinkTelegram(ctx, code, aliceTelegram); err != nil {
		e.t.Fatal(err)
	}
}

var acAliceEverywhere = map[string]int{"alice@a.test": 1, fmt.Sprint(aliceTelegram): 1}

func TestAutoClose_RemindsOnTheDayThenClosesWithTheReason(t *testing.T) {
	e := newEnv(t, withAutoClose)
	e.linkAliceTelegram()
	e.clock.Set(autoCloseStart)
	id := e.resolvedTicket()

	// The reminder is due 14 − 3 = 11 days after the ticket became Resolved, not a minute before.
	e.clock.Advance(closeAfter - closeReminder - time.Minute)
	if res := e.runAutoClose(); res != (core.AutoCloseResult{}) {
		t.Fatalf("a minute before the reminder: %+v", res)
	}
	if got := e.sent(core.NotifyCloseReminder, id); len(got) != 0 {
		t.Fatalf("reminder before its acDay: %v", got)
	}
	e.clock.Advance(time.Minute)
	if res := e.runAutoClose(); res.Reminded != 1 || res.Closed != 0 {
		t.Fatalf("on the reminder's acDay: %+v", res)
	}
	if got := e.sent(core.NotifyCloseReminder, id); !acSameCounts(got, acAliceEverywhere) {
		t.Fatalf("reminders %v, want one by mail and one on Telegram", got)
	}
	// Running again, later the same acDay, sends no second reminder.
	e.clock.Advance(time.Hour)
	e.runAutoClose()
	if got := e.sent(core.NotifyCloseReminder, id); !acSameCounts(got, acAliceEverywhere) {
		t.Fatalf("reminders after a second run %v, want still one each", got)
	}

	// A staff reply does not keep the ticket open: only the customer's does.
	e.staffReply(id, "Anything else we can do?", false)
	e.clock.Set(autoCloseStart.Add(closeAfter - time.Minute))
	if res := e.runAutoClose(); res.Closed != 0 {
		t.Fatalf("closed a minute early: %+v", res)
	}
	if d := e.detail(e.alice, acctA, id); d.Status != int(core.StatusResolved) {
		t.Fatalf("status a minute before the close: %d", d.Status)
	}
	told := e.sent(core.NotifyStatusChanged, id) // of the Resolved status
	e.clock.Advance(time.Minute)
	if res := e.runAutoClose(); res.Closed != 1 || res.Reminded != 0 {
		t.Fatalf("on the close's acDay: %+v", res)
	}
	d := e.detail(e.alice, acctA, id)
	if d.Status != int(core.StatusClosed) {
		t.Fatalf("status %d, want Closed", d.Status)
	}
	last := d.History[len(d.History)-1]
	if last.Kind != "status" || last.From == nil || *last.From != int(core.StatusResolved) || last.To == nil || *last.To != int(core.StatusClosed) ||
		last.Detail == nil || *last.Detail != "closed automatically: no reply for 14 days" || last.ActorUserID != nil {
		t.Fatalf("last history line %+v (detail %v), want the system closing it for 14 days of no reply", last, acDeref(last.Detail))
	}
	if got := e.sent(core.NotifyStatusChanged, id); got["alice@a.test"] != told["alice@a.test"]+1 ||
		got[fmt.Sprint(aliceTelegram)] != told[fmt.Sprint(aliceTelegram)]+1 {
		t.Fatalf("status notifications %v, want Alice told of the close by mail and Telegram", got)
	}

	// The change feed (and so the webhooks) says why too.
	r := e.json("GET", "/api/staff/Event?after=0", e.staff, nil)
	expect(t, r, http.StatusOK)
	var feed []struct {
		Type string `json:"type"`
		Data struct {
			To     *int   `json:"to"`
			Detail string `json:"detail"`
		} `json:"data"`
	}
	r.data(t, &feed)
	if c := feed[len(feed)-1]; c.Type != "ticket.status_changed" || c.Data.To == nil || *c.Data.To != int(core.StatusClosed) ||
		c.Data.Detail != "closed automatically: no reply for 14 days" {
		t.Fatalf("last change %+v, want the close with its reason", c)
	}

	// The job running again finds nothing more to do.
	e.clock.Advance(acDay)
	if res := e.runAutoClose(); res != (core.AutoCloseResult{}) {
		t.Fatalf("after the close: %+v", res)
	}
	if n := len(e.detail(e.alice, acctA, id).History); n != len(d.History) {
		t.Fatalf("history grew from %d to %d lines", len(d.History), n)
	}
}

func TestAutoClose_CustomerReplyStopsBothAndANewPeriodStartsAgain(t *testing.T) {
	e := newEnv(t, withAutoClose)
	e.clock.Set(autoCloseStart)
	id := e.resolvedTicket()
	e.clock.Advance(closeAfter - closeReminder)
	if res := e.runAutoClose(); res.Reminded != 1 {
		t.Fatalf("reminder: %+v", res)
	}

	// Alice answers between the reminder and the close: the ticket is Open again.
	e.clock.Advance(acDay)
	e.customerReply(e.alice, acctA, id, "Actually it is down again.")
	for _, at := range []time.Duration{closeAfter, closeAfter + 30*acDay} {
		e.clock.Set(autoCloseStart.Add(at))
		if res := e.runAutoClose(); res != (core.AutoCloseResult{}) {
			t.Fatalf("%v after resolving, once Alice replied: %+v", at, res)
		}
	}
	if d := e.detail(e.alice, acctA, id); d.Status != int(core.StatusOpen) {
		t.Fatalf("status %d, want still Open", d.Status)
	}
	if got := e.sent(core.NotifyCloseReminder, id); got["alice@a.test"] != 1 {
		t.Fatalf("reminders %v, want only the first", got)
	}

	// Resolved again: the count starts from there, with a reminder of its own.
	resolvedAgain := e.clock.Now()
	e.setStatus(id, core.StatusResolved)
	e.clock.Set(resolvedAgain.Add(closeAfter - closeReminder - time.Minute))
	if res := e.runAutoClose(); res != (core.AutoCloseResult{}) {
		t.Fatalf("before the second period's reminder: %+v", res)
	}
	e.clock.Advance(time.Minute)
	if res := e.runAutoClose(); res.Reminded != 1 {
		t.Fatalf("second period's reminder: %+v", res)
	}
	if got := e.sent(core.NotifyCloseReminder, id); got["alice@a.test"] != 2 {
		t.Fatalf("reminders %v, want a second one", got)
	}
	e.clock.Set(resolvedAgain.Add(closeAfter))
	if res := e.runAutoClose(); res.Closed != 1 {
		t.Fatalf("second period's close: %+v", res)
	}
}

func TestAutoClose_OffByDefault(t *testing.T) {
	e := newEnv(t, withNotify)
	e.clock.Set(autoCloseStart)
	id := e.resolvedTicket()
	e.clock.Advance(365 * acDay)
	if res := e.runAutoClose(); res != (core.AutoCloseResult{}) {
		t.Fatalf("auto-close unset did %+v", res)
	}
	if d := e.detail(e.alice, acctA, id); d.Status != int(core.StatusResolved) {
		t.Fatalf("status %d, want still Resolved", d.Status)
	}
	if got := e.sent(core.NotifyCloseReminder, id); len(got) != 0 {
		t.Fatalf("reminders %v with auto-close off", got)
	}
}

// A ticket found long past its close (the job was stopped, or auto-close was just turned
// on) is reminded first and closed a reminder's time later, never without warning.
func TestAutoClose_LateTicketIsRemindedBeforeItCloses(t *testing.T) {
	e := newEnv(t, withAutoClose)
	e.clock.Set(autoCloseStart)
	id := e.resolvedTicket()
	e.clock.Advance(40 * acDay)
	if res := e.runAutoClose(); res.Reminded != 1 || res.Closed != 0 {
		t.Fatalf("late ticket's first run: %+v", res)
	}
	e.clock.Advance(closeReminder - time.Minute)
	if res := e.runAutoClose(); res != (core.AutoCloseResult{}) {
		t.Fatalf("closed before the reminder's time was up: %+v", res)
	}
	e.clock.Advance(time.Minute)
	if res := e.runAutoClose(); res.Closed != 1 {
		t.Fatalf("close a reminder's time after the reminder: %+v", res)
	}
	if got := e.sent(core.NotifyCloseReminder, id); got["alice@a.test"] != 1 {
		t.Fatalf("reminders %v, want one", got)
	}
}

// Only Resolved tickets wait for their customer: an Open or In Progress one waits for staff.
func TestAutoClose_OnlyResolvedTickets(t *testing.T) {
	e := newEnv(t, withAutoClose)
	e.clock.Set(autoCloseStart)
	open := e.createTicket(e.alice, acctA, nil)
	inProgress := e.createTicket(e.alice, acctA, nil)
	e.setStatus(inProgress, core.StatusInProgress)
	e.clock.Advance(60 * acDay)
	e.runAutoClose()
	e.clock.Advance(closeReminder)
	if res := e.runAutoClose(); res != (core.AutoCloseResult{}) {
		t.Fatalf("auto-close touched a ticket that is not Resolved: %+v", res)
	}
	for id, want := range map[int64]core.Status{open: core.StatusOpen, inProgress: core.StatusInProgress} {
		if d := e.detail(e.alice, acctA, id); d.Status != int(want) {
			t.Errorf("ticket %d status %d, want %d", id, d.Status, want)
		}
	}
}

// Two daemons on one database running the job at the same moment (a lease changing hands)
// send one reminder and close once.
func TestAutoClose_TwoNodesAtOnceDoEachStepOnce(t *testing.T) {
	e := newEnv(t, withAutoClose)
	e.clock.Set(autoCloseStart)
	id := e.resolvedTicket()
	var opts core.Options
	withAutoClose(&opts, &httpapi.Options{})
	other := core.NewService(e.db, e.db.Blobs(), e.clock, opts)
	both := func() core.AutoCloseResult {
		t.Helper()
		var wg sync.WaitGroup
		results := make([]core.AutoCloseResult, 2)
		for i, svc := range []*core.Service{e.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := svc.AutoClose(context.Background())
				if err != nil {
					t.Errorf("node %d: %v", i, err)
				}
				results[i] = res
			}()
		}
		wg.Wait()
		return core.AutoCloseResult{Reminded: results[0].Reminded + results[1].Reminded, Closed: results[0].Closed + results[1].Closed}
	}
	e.clock.Advance(closeAfter - closeReminder)
	if res := both(); res != (core.AutoCloseResult{Reminded: 1}) {
		t.Fatalf("reminder on two nodes: %+v, want one", res)
	}
	if got := e.sent(core.NotifyCloseReminder, id); got["alice@a.test"] != 1 {
		t.Fatalf("reminders %v, want one", got)
	}
	before := len(e.detail(e.alice, acctA, id).History)
	e.clock.Advance(closeReminder)
	if res := both(); res != (core.AutoCloseResult{Closed: 1}) {
		t.Fatalf("close on two nodes: %+v, want one", res)
	}
	if d := e.detail(e.alice, acctA, id); d.Status != int(core.StatusClosed) || len(d.History) != before+1 {
		t.Fatalf("status %d with %d history lines, want Closed with one more than %d", d.Status, len(d.History), before)
	}
}

func acSameCounts(a, b map[string]int) bool {
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

func acDeref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

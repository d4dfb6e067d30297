package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/core"
)

// TestRender_TicketActivity: every kind of post a ticket's thread gets says what happened
// and who did it, goes to the thread alone, and closes or reopens the thread with the
// ticket's status.
func TestRender_TicketActivity(t *testing.T) {
	staff := &core.User{ID: 2, Name: "Sam Support", Role: core.RoleStaff}
	ticket := &core.Ticket{ID: 1042, Subject: "Website returns 502 errors", Status: core.StatusInProgress}
	note := &core.Message{ID: 3, TicketID: 1042, AuthorUserID: 2, Author: core.AuthorStaff, Body: "origin firewall?", Internal: true}
	tests := []struct {
		name          string
		a             core.Activity
		status        core.Status
		msg           *core.Message
		author        *core.User // the message's, when not the actor
		actor         *core.User
		assignee      *core.User
		department    *core.Department
		want          []string
		close, reopen bool
	}{
		{name: "note", a: core.Activity{Kind: core.ActivityNote, Actor: 2}, msg: note, actor: staff,
			want: []string{"Sam Support wrote an internal note:", "origin firewall?"}},
		{name: "reply", a: core.Activity{Kind: core.ActivityReply, Actor: 2}, msg: &core.Message{ID: 4, Body: "Fixed now."}, actor: staff,
			want: []string{"Sam Support replied to the customer:", "Fixed now."}},
		{name: "resolved", a: core.Activity{Kind: core.ActivityStatus, Actor: 2}, status: core.StatusResolved, actor: staff,
			want: []string{"Sam Support set the status to Resolved."}, reopen: true},
		{name: "closed automatically", a: core.Activity{Kind: core.ActivityStatus}, status: core.StatusClosed,
			want: []string{"The status is now Closed."}, close: true},
		{name: "split from", a: core.Activity{Kind: core.ActivitySplitFrom, Actor: 2, Other: 7},
			msg:    &core.Message{ID: 5, AuthorUserID: 7, Author: core.AuthorCustomer, Body: "And the VPS is slow."},
			author: &core.User{ID: 7, Name: "Ann Example"}, actor: staff,
			want: []string{"Sam Support split this ticket off #7.", "And the VPS is slow."}},
		{name: "split to", a: core.Activity{Kind: core.ActivitySplitTo, Actor: 2, Other: 9}, actor: staff,
			want: []string{"Sam Support moved the later messages of this ticket to #9."}},
		{name: "merged into", a: core.Activity{Kind: core.ActivityMergedInto, Actor: 2, Other: 5}, actor: staff,
			want: []string{"Sam Support merged this ticket into #5."}},
		{name: "merged from", a: core.Activity{Kind: core.ActivityMergedFrom, Actor: 2, Other: 8}, actor: staff,
			want: []string{"Sam Support merged #8 into this ticket."}},
		{name: "erased actor", a: core.Activity{Kind: core.ActivityMergedFrom, Actor: 99, Other: 8},
			want: []string{"Support team merged #8 into this ticket."}},
		{name: "assigned to a user of a department", a: core.Activity{Kind: core.ActivityAssigned, Actor: 2, User: 5, Department: 3},
			actor: staff, assignee: &core.User{ID: 5, Name: "Ann Agent", Role: core.RoleStaff}, department: &core.Department{ID: 3, Name: "Billing"},
			want: []string{"Sam Support assigned the ticket to Ann Agent, department Billing."}},
		{name: "assigned to a user", a: core.Activity{Kind: core.ActivityAssigned, Actor: 2, User: 2}, actor: staff, assignee: staff,
			want: []string{"Sam Support assigned the ticket to Sam Support."}},
		{name: "given to a department", a: core.Activity{Kind: core.ActivityAssigned, Actor: 2, Department: 3}, actor: staff,
			department: &core.Department{ID: 3, Name: "Billing"}, want: []string{"Sam Support gave the ticket to the department Billing."}},
		{name: "unassigned", a: core.Activity{Kind: core.ActivityAssigned, Actor: 2}, actor: staff,
			want: []string{"Sam Support left the ticket unassigned."}},
		{name: "assigned to an erased user of a deleted department", a: core.Activity{Kind: core.ActivityAssigned, Actor: 2, User: 77, Department: 4},
			actor: staff, want: []string{"Sam Support assigned the ticket to Support team, department #4."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := core.Notification{ID: 1, Kind: core.NotifyTicketActivity, Channel: core.ChannelTelegram, TicketID: ticket.ID,
				Recipient: "-100123", NewStatus: tt.status, Detail: core.FormatActivity(tt.a)}
			if tt.msg != nil {
				n.MessageID = tt.msg.ID
			}
			author := tt.author
			if author == nil {
				author = tt.actor
			}
			out := render(testOpts, renderInput{n: n, ticket: ticket, message: tt.msg, author: author, actor: tt.actor,
				assignee: tt.assignee, department: tt.department})
			for _, w := range tt.want {
				if !strings.Contains(out.Text, w) {
					t.Errorf("text %q lacks %q", out.Text, w)
				}
			}
			if out.Thread == nil || !out.Thread.Only || out.Thread.Name != "#1042 Website returns 502 errors" {
				t.Fatalf("thread %+v, want the ticket's thread alone", out.Thread)
			}
			if out.Thread.Close != tt.close || out.Thread.Reopen != tt.reopen {
				t.Errorf("close %v reopen %v, want %v %v", out.Thread.Close, out.Thread.Reopen, tt.close, tt.reopen)
			}
			if len(out.Actions) != 0 {
				t.Errorf("buttons %v on a post in the thread", out.Actions)
			}
		})
	}
}

// TestRender_StaffAlertNamesItsThread: a staff alert on Telegram names the ticket's thread
// but is not for the thread alone: a plain group gets it as ever.
func TestRender_StaffAlertNamesItsThread(t *testing.T) {
	in := sampleInput(core.NotifyNewTicket, core.ChannelTelegram, "en")
	out := render(testOpts, in)
	if out.Thread == nil || out.Thread.Only || out.Thread.Name != "#1042 Website returns 502 errors" {
		t.Fatalf("thread %+v", out.Thread)
	}
	if mail := render(testOpts, sampleInput(core.NotifyNewTicket, core.ChannelEmail, "en")); mail.Thread != nil {
		t.Errorf("mail has a thread %+v", mail.Thread)
	}
}

func TestThreadName(t *testing.T) {
	long := strings.Repeat("ж", 200)
	tests := []struct {
		id      int64
		subject string
		want    string
	}{
		{12, "Mail  down\tagain", "#12 Mail down again"},
		{7, "", "#7"},
		{3, long, "#3 " + strings.Repeat("ж", 124) + "…"},
	}
	for _, tt := range tests {
		got := ThreadName(tt.id, tt.subject, 128)
		if got != tt.want {
			t.Errorf("ThreadName(%d, %.10q) = %.20q, want %.20q", tt.id, tt.subject, got, tt.want)
		}
		if utf8.RuneCountInString(got) > 128 {
			t.Errorf("%d characters", utf8.RuneCountInString(got))
		}
	}
}

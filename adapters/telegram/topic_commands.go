package telegram

import (
	"context"
	"strings"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway/lang"
)

// What staff write in a ticket's forum topic of the staff chat. Whatever a linked staff
// user writes there is a staff reply to the topic's ticket: no Telegram reply is needed,
// as there is no other ticket it could be meant for. A few commands act on the ticket:
//
//	/note <text>          an internal note
//	/progress, /resolve   set the status (In Progress, Resolved)
//	/close                close it (and the topic with it)
//	/assign me            assign it to oneself, keeping its department
//	/assign <department>  give it to a department, keeping its assignee
//	/canned <name>        send a canned reply
//
// A status change is confirmed by its own post in the topic (it goes through the outbox
// with the ticket's other activity, and closes or reopens the topic); the other commands
// are answered at once.

// onTopicMessage handles message m, update id, written in the topic of ticket.
func (g *Bot) onTopicMessage(ctx context.Context, id int64, m *tele.Message, ticket int64, r *result) error {
	answer := func(text string) {
		// In the topic: handle keeps the answers to an update where it came from.
		r.answers = append(r.answers, message{chat: m.Chat.ID, text: text, replyTo: m.ID})
	}
	user, err := g.user(ctx, m.Sender.ID)
	if err != nil {
		return err
	}
	r.language = g.language(user, nil)
	if !isStaff(user, ticket, answer, r) {
		return nil
	}
	actor := core.Actor{User: user, Channel: core.ChannelTelegram, InStaffChat: true}
	cmd, arg := command(m.Text)
	switch cmd {
	case "":
	case "canned":
		return g.sendCanned(ctx, id, m, ticket, user, arg, r)
	case "note":
		return g.topicNote(ctx, id, actor, ticket, arg, answer, r)
	case "progress", "resolve", "close":
		to := map[string]core.Status{"progress": core.StatusInProgress, "resolve": core.StatusResolved, "close": core.StatusClosed}[cmd]
		return g.topicStatus(ctx, actor, ticket, to, answer, r)
	case "assign":
		return g.topicAssign(ctx, actor, ticket, arg, answer, r)
	default:
		answer(r.t("bot.topic_help"))
		return nil
	}
	return g.staffReply(ctx, id, m, ticket, user, answer, r)
}

// topicNote writes an internal note, once per update (the update's key goes with it).
func (g *Bot) topicNote(ctx context.Context, id int64, actor core.Actor, ticket int64, text string, answer func(string), r *result) error {
	if strings.TrimSpace(text) == "" {
		answer(r.t("bot.note_empty"))
		return nil
	}
	_, err := g.svc.StaffReply(ctx, actor, ticket, core.NewReply{Body: text, Internal: true,
		Source: &core.Source{Channel: core.ChannelTelegram, Key: key(id)}})
	switch {
	case err == nil, core.IsDuplicate(err):
		answer(r.tf("bot.note_added", ticket))
	case userError(err):
		answer(r.tf("bot.not_changed", ticket, core.ErrorMessage(err)))
	default:
		return err
	}
	return nil
}

// topicStatus sets the ticket's status. Done, it is said by the status post the change
// queues; the same status again is said at once, as nothing is posted for it.
func (g *Bot) topicStatus(ctx context.Context, actor core.Actor, ticket int64, to core.Status, answer func(string), r *result) error {
	t, err := g.svc.VisibleTicket(ctx, actor, ticket)
	if err != nil {
		return g.topicError(err, ticket, answer, r)
	}
	if t.Status == to {
		answer(r.tf("bot.status_already", ticket, statusLabel(r, to)))
		return nil
	}
	if _, err := g.svc.SetStatus(ctx, actor, core.TicketRef{ID: ticket}, to); err != nil {
		return g.topicError(err, ticket, answer, r)
	}
	return nil
}

// topicAssign is /assign me and /assign <department>. Core's Assign sets both the
// assignee and the department, so the one not named is kept as it is.
func (g *Bot) topicAssign(ctx context.Context, actor core.Actor, ticket int64, arg string, answer func(string), r *result) error {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		answer(r.t("bot.assign_usage"))
		return nil
	}
	d, err := g.svc.StaffTicket(ctx, actor, ticket)
	if err != nil {
		return g.topicError(err, ticket, answer, r)
	}
	assignee, dept := d.Work.AssigneeUserID, d.Work.DepartmentID
	var done string
	if strings.EqualFold(arg, "me") {
		assignee = actor.User.ID
		done = r.tf("bot.assigned_me", ticket)
	} else {
		list, err := g.svc.Departments(ctx, actor)
		if err != nil {
			return err
		}
		var names []string
		dept = 0
		for _, dp := range list {
			names = append(names, dp.Name)
			if strings.EqualFold(strings.TrimSpace(dp.Name), arg) {
				dept = dp.ID
				done = r.tf("bot.assigned_department", ticket, dp.Name)
			}
		}
		if dept == 0 {
			if len(names) == 0 {
				answer(r.t("bot.no_departments"))
			} else {
				answer(r.tf("bot.department_unknown", arg, strings.Join(names, ", ")))
			}
			return nil
		}
	}
	if _, err := g.svc.Assign(ctx, actor, ticket, assignee, dept); err != nil {
		return g.topicError(err, ticket, answer, r)
	}
	answer(done)
	return nil
}

// topicError answers a refusal of core (a closed ticket, a ticket gone) in the topic, and
// returns the others, which the update is tried again for.
func (g *Bot) topicError(err error, ticket int64, answer func(string), r *result) error {
	if !userError(err) {
		return err
	}
	answer(r.tf("bot.not_changed", ticket, core.ErrorMessage(err)))
	return nil
}

// userError is a refusal the person who asked is told of, rather than a failure to retry.
func userError(err error) bool {
	switch core.ErrorCode(err) {
	case core.EINVALID, core.ECONFLICT, core.ENOTFOUND, core.EFORBIDDEN:
		return true
	}
	return false
}

func statusLabel(r *result, s core.Status) string { return lang.StatusLabel(r.language, int(s)) }

// topicOf is the forum topic m was written in (0: none, or a forum's General).
func topicOf(m *tele.Message) int64 {
	if !m.TopicMessage {
		return 0
	}
	return int64(m.ThreadID)
}

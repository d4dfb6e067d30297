package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file implements the staff queue: tickets across accounts with their staff-side
// state (TicketWork), filtered, sorted and paged. Its search is in search.go.

// workColumns are TicketWork's columns for a ticket t joined with departments d and the
// opener u; user is the placeholder of the staff user's ID (favourite, unread).
func workColumns(user string) string {
	return `COALESCE(t.assignee_user_id, 0), COALESCE(t.department_id, 0), COALESCE(d.name, ''),
	COALESCE(t.due_at, sla.due_at), t.archived, COALESCE(t.merged_into, 0), t.service_type, COALESCE(u.name, ''),
	EXISTS (SELECT 1 FROM ticket_favourites f WHERE f.user_id = ` + user + ` AND f.ticket_id = t.id),
	COALESCE((SELECT max(id) FROM messages WHERE ticket_id = t.id), 0) >
		COALESCE((SELECT message_id FROM ticket_reads r WHERE r.user_id = ` + user + ` AND r.ticket_id = t.id), 0),
	(SELECT min(m.created_at) FROM messages m WHERE m.ticket_id = t.id AND m.author = 'customer' AND NOT m.hidden
		AND m.id > COALESCE((SELECT max(s.id) FROM messages s WHERE s.ticket_id = t.id AND s.author = 'staff'
			AND NOT s.internal AND NOT s.hidden), 0)),
	sla.first_response_due, sla.first_response_at, sla.resolution_due,
	COALESCE(sla.paused_at IS NOT NULL AND sla.stopped_at IS NULL, false), COALESCE(sla.breached, false)`
}

const workJoins = ` LEFT JOIN properties p ON p.id = t.property_id
	LEFT JOIN departments d ON d.id = t.department_id
	LEFT JOIN users u ON u.id = t.user_id
	LEFT JOIN ticket_sla sla ON sla.ticket_id = t.id`

// dueAt is the due time a queue row shows, sorts and filters by: the manual deadline, else
// the SLA's.
const dueAt = `COALESCE(t.due_at, (SELECT due_at FROM ticket_sla WHERE ticket_id = t.id))`

// scanQueueItem scans ticketColumns and workColumns.
func scanQueueItem(s scanner) (core.QueueItem, error) {
	var it core.QueueItem
	w := &it.Work
	var due, waiting, frDue, frAt, resDue *time.Time
	tk, err := scanTicket(s, &w.AssigneeUserID, &w.DepartmentID, &w.DepartmentName, &due, &w.Archived, &w.MergedInto,
		&w.ServiceType, &w.UserName, &w.Favourite, &w.Unread, &waiting, &frDue, &frAt, &resDue, &w.SLAPaused, &w.Breached)
	it.Ticket = tk
	w.DueAt, w.WaitingSince = fromTS(due), fromTS(waiting)
	w.FirstResponseDue, w.FirstResponseAt, w.ResolutionDue = fromTS(frDue), fromTS(frAt), fromTS(resDue)
	return it, err
}

func (t *readTx) TicketWork(_ context.Context, ticketID, userID int64) (*core.TicketWork, error) {
	it, err := scanQueueItem(t.tx.QueryRow(t.ctx, `SELECT `+ticketColumns+`, `+workColumns("$1")+`
		FROM tickets t`+workJoins+` WHERE t.id = $2`, userID, ticketID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Ticket", ticketID)
	} else if err != nil {
		return nil, fmt.Errorf("work of ticket %d: %w", ticketID, err)
	}
	return &it.Work, nil
}

// queryArgs collects a statement's arguments; add returns the placeholder of the one added.
type queryArgs []any

func (a *queryArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// queueWhere is the filter of f (but its search) as conditions on tickets t, each with its
// arguments in args.
func queueWhere(f core.QueueFilter, args *queryArgs) []string {
	var where []string
	add := func(cond string) { where = append(where, cond) }
	if f.Status != nil {
		add("t.status = " + args.add(int(*f.Status)))
	}
	if f.Topic != nil {
		add("t.topic = " + args.add(int(*f.Topic)))
	}
	if f.AccountID != nil {
		add("t.account_id = " + args.add(*f.AccountID))
	}
	if f.PropertyID != nil {
		if *f.PropertyID == 0 {
			add("t.property_id IS NULL")
		} else {
			add("t.property_id = " + args.add(*f.PropertyID))
		}
	}
	if f.AssigneeUserID != nil {
		add("t.assignee_user_id = " + args.add(*f.AssigneeUserID))
	}
	if f.DepartmentID != nil {
		if *f.DepartmentID == 0 {
			add("t.department_id IS NULL")
		} else {
			add("t.department_id = " + args.add(*f.DepartmentID))
		}
	}
	if f.Archived != nil {
		add("t.archived = " + args.add(*f.Archived))
	}
	if f.Unassigned {
		add("t.assignee_user_id IS NULL")
	}
	if f.Favourite {
		add("t.id IN (SELECT ticket_id FROM ticket_favourites WHERE user_id = " + args.add(f.UserID) + ")")
	}
	if f.Unread {
		add(`COALESCE((SELECT max(id) FROM messages WHERE ticket_id = t.id), 0) >
			COALESCE((SELECT message_id FROM ticket_reads r WHERE r.user_id = ` + args.add(f.UserID) + ` AND r.ticket_id = t.id), 0)`)
	}
	if f.Overdue {
		add(dueAt + " < " + args.add(ts(f.Now)) + " AND t.status IN (" +
			args.add(int(core.StatusOpen)) + ", " + args.add(int(core.StatusInProgress)) + ")")
	}
	if f.Breached {
		add("t.id IN (SELECT ticket_id FROM ticket_sla WHERE breached)")
	}
	return where
}

func (t *readTx) Queue(_ context.Context, f core.QueueFilter) ([]core.QueueItem, core.QueueCount, error) {
	var args queryArgs
	where := queueWhere(f, &args)
	if f.Search != "" {
		return t.searchQueue(f, where, args)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var n int
	if err := t.tx.QueryRow(t.ctx, `SELECT count(*) FROM tickets t`+cond, args...).Scan(&n); err != nil {
		return nil, core.QueueCount{}, fmt.Errorf("count queue: %w", err)
	}
	total := core.QueueCount{N: n}
	if n == 0 || f.Page.Offset() >= n {
		return []core.QueueItem{}, total, nil
	}
	list, err := t.queuePage(" FROM tickets t"+cond, args, f, f.Page.Size)
	return list, total, err
}

// queueOrder is the ORDER BY of the queue's sort and order.
func queueOrder(f core.QueueFilter) string {
	due := f.Sort == core.SortDeadline || f.Sort == core.SortDue
	desc := f.Order == "desc" || (f.Order == "" && !due)
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	switch f.Sort {
	case core.SortCreated:
		return "t.id" + dir
	case core.SortDeadline, core.SortDue:
		return "(" + dueAt + " IS NULL), " + dueAt + dir + ", t.id" + dir
	default:
		return "t.updated_at" + dir + ", t.id" + dir
	}
}

// queuePage lists one page (at most limit rows from f's page offset) of the tickets t of
// from (with its args) in f's order.
func (t *readTx) queuePage(from string, args queryArgs, f core.QueueFilter, limit int) ([]core.QueueItem, error) {
	// The page's IDs are chosen first; only its rows then pay for TicketWork's correlated
	// subqueries, which would otherwise run for every candidate before the sort.
	order := queueOrder(f)
	q := `WITH page (id) AS (SELECT t.id` + from + ` ORDER BY ` + order + ` LIMIT ` + args.add(limit) + ` OFFSET ` + args.add(f.Page.Offset()) + `)
		SELECT ` + ticketColumns + `, ` + workColumns(args.add(f.UserID)) + `
		FROM page pg JOIN tickets t ON t.id = pg.id` + workJoins + ` ORDER BY ` + order
	rows, err := t.tx.Query(t.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.QueueItem, error) { return scanQueueItem(r) })
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	return nonNil(list), nil
}

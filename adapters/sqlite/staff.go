package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file implements the staff side of core's ports: departments, the queue with its
// full-text search, assignment, deadlines, favourites, read marks, moderation, split and
// merge, and core.DeliveryLog.

var _ core.DeliveryLog = (*DB)(nil)

func (t *readTx) Department(_ context.Context, id int64) (*core.Department, error) {
	d := core.Department{ID: id}
	var err error
	d.Name, d.CreatedAt, d.UpdatedAt, err = t.named("departments", "Department", id)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func (t *readTx) Departments(_ context.Context) ([]core.Department, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, name, created_at, updated_at FROM departments ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	defer rows.Close()
	list := []core.Department{}
	for rows.Next() {
		var d core.Department
		var c, u int64
		if err := rows.Scan(&d.ID, &d.Name, &c, &u); err != nil {
			return nil, err
		}
		d.CreatedAt, d.UpdatedAt = fromDB(c), fromDB(u)
		list = append(list, d)
	}
	return list, rows.Err()
}

// workColumns are TicketWork's columns for a ticket t joined with departments d and the
// opener u; the two parameters are the staff user's ID (favourite, unread).
const workColumns = `COALESCE(t.assignee_user_id, 0), COALESCE(t.department_id, 0), COALESCE(d.name, ''),
	COALESCE(t.due_at, sla.due_at, 0), t.archived, COALESCE(t.merged_into, 0), t.service_type, COALESCE(u.name, ''),
	EXISTS (SELECT 1 FROM ticket_favourites f WHERE f.user_id = ? AND f.ticket_id = t.id),
	COALESCE((SELECT max(id) FROM messages WHERE ticket_id = t.id), 0) >
		COALESCE((SELECT message_id FROM ticket_reads r WHERE r.user_id = ? AND r.ticket_id = t.id), 0),
	COALESCE((SELECT min(m.created_at) FROM messages m WHERE m.ticket_id = t.id AND m.author = 'customer' AND m.hidden = 0
		AND m.id > COALESCE((SELECT max(s.id) FROM messages s WHERE s.ticket_id = t.id AND s.author = 'staff'
			AND s.internal = 0 AND s.hidden = 0), 0)), 0),
	COALESCE(sla.first_response_due, 0), COALESCE(sla.first_response_at, 0), COALESCE(sla.resolution_due, 0),
	sla.paused_at IS NOT NULL AND sla.stopped_at IS NULL, COALESCE(sla.breached, 0)`

const workJoins = ` LEFT JOIN properties p ON p.id = t.property_id
	LEFT JOIN departments d ON d.id = t.department_id
	LEFT JOIN users u ON u.id = t.user_id
	LEFT JOIN ticket_sla sla ON sla.ticket_id = t.id`

// dueAt is the due time a queue row shows, sorts and filters by: the manual deadline, else
// the SLA's.
const dueAt = `COALESCE(t.due_at, (SELECT due_at FROM ticket_sla WHERE ticket_id = t.id))`

// scanQueueItem scans ticketColumns and workColumns, then extra.
func scanQueueItem(s scanner, extra ...any) (core.QueueItem, error) {
	var it core.QueueItem
	tk := &it.Ticket
	w := &it.Work
	var ch string
	var c, u, due, waiting, frDue, frAt, resDue int64
	err := s.Scan(append([]any{&tk.ID, &tk.AccountID, &tk.UserID, &tk.Subject, &tk.Description, &tk.Topic, &tk.Status,
		&tk.PropertyID, &tk.PropertyName, &ch, &tk.FollowUpOf, &tk.MessageCount, &tk.PublicMessageCount, &c, &u,
		&w.AssigneeUserID, &w.DepartmentID, &w.DepartmentName, &due, &w.Archived, &w.MergedInto, &w.ServiceType,
		&w.UserName, &w.Favourite, &w.Unread, &waiting, &frDue, &frAt, &resDue, &w.SLAPaused, &w.Breached}, extra...)...)
	w.FirstResponseDue, w.FirstResponseAt, w.ResolutionDue = fromDB(frDue), fromDB(frAt), fromDB(resDue)
	tk.Channel, tk.CreatedAt, tk.UpdatedAt = core.Channel(ch), fromDB(c), fromDB(u)
	w.DueAt, w.WaitingSince = fromDB(due), fromDB(waiting)
	return it, err
}

func (t *readTx) TicketWork(_ context.Context, ticketID, userID int64) (*core.TicketWork, error) {
	it, err := scanQueueItem(t.q.QueryRowContext(t.ctx, `SELECT `+ticketColumns+`, `+workColumns+`
		FROM tickets t`+workJoins+` WHERE t.id = ?`, userID, userID, ticketID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Ticket", ticketID)
	} else if err != nil {
		return nil, fmt.Errorf("work of ticket %d: %w", ticketID, err)
	}
	return &it.Work, nil
}

// ftsQuery turns free text into an FTS5 query: every word must occur (in the subject or
// the message), each quoted so that nothing the user types is FTS5 syntax. "" when no word
// has a letter or digit.
func ftsQuery(text string) string {
	var terms []string
	for _, w := range strings.Fields(text) {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 {
			continue
		}
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
	}
	return strings.Join(terms, " ")
}

// searchFloor finds where a search stops looking: the rowid of the (scan+1)-th newest
// matching message (no row when at most scan match). FTS5 walks its own doclist for it
// without touching messages or tickets, so even a word in every ticket costs little here.
const searchFloor = `SELECT rowid FROM ticket_search WHERE ticket_search MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?`

// searchHits lists the tickets passing the filters (the second %s: " AND …"; the first
// joins the tickets they need) with a message (or subject) matching the FTS5 query above the
// floor, in the order of their newest such message. FTS5 yields its hits newest first
// without a sort, so the LIMIT stops the walk: each hit costs a message lookup, and a ticket
// lookup (several times dearer) when filtered; an unbounded walk is what made a common word
// take a second.
const searchHits = `SELECT DISTINCT m.ticket_id FROM ticket_search CROSS JOIN messages m ON m.id = ticket_search.rowid%s
	WHERE ticket_search MATCH ? AND ticket_search.rowid > ?%s
	ORDER BY ticket_search.rowid DESC LIMIT ?`

func (t *readTx) Queue(_ context.Context, f core.QueueFilter) ([]core.QueueItem, core.QueueCount, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if f.Status != nil {
		add("t.status = ?", int(*f.Status))
	}
	if f.Topic != nil {
		add("t.topic = ?", int(*f.Topic))
	}
	if f.AccountID != nil {
		add("t.account_id = ?", *f.AccountID)
	}
	if f.PropertyID != nil {
		if *f.PropertyID == 0 {
			add("t.property_id IS NULL")
		} else {
			add("t.property_id = ?", *f.PropertyID)
		}
	}
	if f.AssigneeUserID != nil {
		add("t.assignee_user_id = ?", *f.AssigneeUserID)
	}
	if f.DepartmentID != nil {
		if *f.DepartmentID == 0 {
			add("t.department_id IS NULL")
		} else {
			add("t.department_id = ?", *f.DepartmentID)
		}
	}
	if f.Archived != nil {
		add("t.archived = ?", *f.Archived)
	}
	if f.Unassigned {
		add("t.assignee_user_id IS NULL")
	}
	if f.Favourite {
		add("t.id IN (SELECT ticket_id FROM ticket_favourites WHERE user_id = ?)", f.UserID)
	}
	if f.Unread {
		add(`COALESCE((SELECT max(id) FROM messages WHERE ticket_id = t.id), 0) >
			COALESCE((SELECT message_id FROM ticket_reads r WHERE r.user_id = ? AND r.ticket_id = t.id), 0)`, f.UserID)
	}
	if f.Overdue {
		add(dueAt+" < ? AND t.status IN (?, ?)", toDB(f.Now), int(core.StatusOpen), int(core.StatusInProgress))
	}
	if f.Breached {
		add("t.id IN (SELECT ticket_id FROM ticket_sla WHERE breached = 1)")
	}
	order := queueOrder(f)
	if f.Search != "" {
		return t.searchQueue(f, where, args, order)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	// Without a search the count reads an index alone, cheaper than numbering rows.
	var n int
	if err := t.q.QueryRowContext(t.ctx, `SELECT count(*) FROM tickets t`+cond, args...).Scan(&n); err != nil {
		return nil, core.QueueCount{}, fmt.Errorf("count queue: %w", err)
	}
	total := core.QueueCount{N: n}
	if n == 0 || f.Page.Offset() >= n {
		return []core.QueueItem{}, total, nil
	}
	list, err := t.queuePage("", " FROM tickets t"+cond, order, args, f.Page.Size, f.Page.Offset(), f.UserID)
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

// searchQueue is Queue with a search: the matching tickets, newest matching message first,
// that pass the filters (with filters, among the scan newest matching messages only), at most
// cap of them, are the candidates the sort and the page apply to. When the walk stops early
// the count is capped, and pages end at cap.
func (t *readTx) searchQueue(f core.QueueFilter, where []string, args []any, order string) ([]core.QueueItem, core.QueueCount, error) {
	list := []core.QueueItem{}
	q := ftsQuery(f.Search)
	if q == "" {
		return list, core.QueueCount{}, nil
	}
	limit, scan := f.SearchCap, f.SearchScan
	if limit <= 0 {
		limit = core.DefaultSearchCap
	}
	if scan <= 0 {
		scan = core.DefaultSearchScan
	}
	// Without a filter every hit is a ticket, so the cap alone ends the walk, and the floor,
	// which evaluates the match a second time (dear when one word is common), is not needed.
	var floor int64
	join, cond := "", ""
	if len(where) > 0 {
		join, cond = " CROSS JOIN tickets t ON t.id = m.ticket_id", " AND "+strings.Join(where, " AND ")
		err := t.q.QueryRowContext(t.ctx, searchFloor, q, scan).Scan(&floor)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, core.QueueCount{}, fmt.Errorf("search floor: %w", err)
		}
	}
	rows, err := t.q.QueryContext(t.ctx, fmt.Sprintf(searchHits, join, cond), append(append([]any{q, floor}, args...), limit+1)...)
	if err != nil {
		return nil, core.QueueCount{}, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	// The candidates travel to the page's query as a JSON array: the sort and the page must
	// see exactly the first cap of them, whatever the order asked.
	ids := []byte{'['}
	n := 0
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, core.QueueCount{}, err
		}
		if n++; n > limit {
			break
		}
		if n > 1 {
			ids = append(ids, ',')
		}
		ids = strconv.AppendInt(ids, id, 10)
	}
	if err := rows.Err(); err != nil {
		return nil, core.QueueCount{}, err
	}
	rows.Close()
	ids = append(ids, ']')
	// Past the floor are matching messages not looked at: their tickets may match too.
	total := core.QueueCount{N: min(n, limit), Capped: n > limit || floor > 0}
	if f.Page.Offset() >= total.N {
		return list, total, nil
	}
	list, err = t.queuePage(`WITH hits (ticket_id) AS (SELECT value FROM json_each(?))`,
		" FROM hits h CROSS JOIN tickets t ON t.id = h.ticket_id", order, []any{string(ids)},
		min(f.Page.Size, total.N-f.Page.Offset()), f.Page.Offset(), f.UserID)
	return list, total, err
}

// queuePage lists one page of the queue's rows (from, with the args of prefix and from) in
// order. The counting is the caller's: a count over the page's rows here would make SQLite
// read every row before the first.
func (t *readTx) queuePage(prefix, from, order string, args []any, limit, offset int, userID int64) ([]core.QueueItem, error) {
	// The page's IDs are chosen first; only its rows then pay for the columns and the
	// correlated subqueries of TicketWork, which SQLite would otherwise compute for every
	// candidate row before sorting.
	with := "WITH "
	if prefix != "" {
		with = prefix + ", "
	}
	q := with + `page (id) AS (SELECT t.id` + from + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?)
		SELECT ` + ticketColumns + `, ` + workColumns + ` FROM page pg CROSS JOIN tickets t ON t.id = pg.id` + workJoins +
		` ORDER BY ` + order
	all := append(append([]any{}, args...), limit, offset, userID, userID)
	rows, err := t.q.QueryContext(t.ctx, q, all...)
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	defer rows.Close()
	list := []core.QueueItem{}
	for rows.Next() {
		it, err := scanQueueItem(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, it)
	}
	return list, rows.Err()
}

func (t *readTx) MessageRevisions(_ context.Context, messageID int64) ([]core.MessageRevision, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, body, COALESCE(edited_by, 0), edited_at
		FROM message_revisions WHERE message_id = ? ORDER BY id`, messageID)
	if err != nil {
		return nil, fmt.Errorf("revisions of message %d: %w", messageID, err)
	}
	defer rows.Close()
	list := []core.MessageRevision{}
	for rows.Next() {
		r := core.MessageRevision{MessageID: messageID}
		var at int64
		if err := rows.Scan(&r.ID, &r.Body, &r.EditedBy, &at); err != nil {
			return nil, err
		}
		r.EditedAt = fromDB(at)
		list = append(list, r)
	}
	return list, rows.Err()
}

func (t *writeTx) PutDepartment(_ context.Context, d *core.Department) error {
	_, err := t.q.ExecContext(t.ctx, `INSERT INTO departments (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`,
		d.ID, d.Name, toDB(d.CreatedAt), toDB(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put department %d: %w", d.ID, err)
	}
	stored, err := t.Department(t.ctx, d.ID)
	if err != nil {
		return err
	}
	*d = *stored
	return nil
}

// exec runs an UPDATE of one ticket and reports ENOTFOUND when it touched no row.
func (t *writeTx) execTicket(what string, ticketID int64, q string, args ...any) error {
	res, err := t.q.ExecContext(t.ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s of ticket %d: %w", what, ticketID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Ticket", ticketID)
	}
	return nil
}

func (t *writeTx) SetAssignment(_ context.Context, ticketID, assigneeUserID, departmentID int64) error {
	return t.execTicket("set assignment", ticketID, `UPDATE tickets SET assignee_user_id = ?, department_id = ? WHERE id = ?`,
		nullInt(assigneeUserID), nullInt(departmentID), ticketID)
}

func (t *writeTx) SetDeadline(_ context.Context, ticketID int64, due time.Time) error {
	return t.execTicket("set deadline", ticketID, `UPDATE tickets SET due_at = ? WHERE id = ?`, nullInt(toDB(due)), ticketID)
}

func (t *writeTx) SetArchived(_ context.Context, ticketID int64, archived bool) error {
	return t.execTicket("set archived", ticketID, `UPDATE tickets SET archived = ? WHERE id = ?`, archived, ticketID)
}

func (t *writeTx) SetMergedInto(_ context.Context, id, into int64) error {
	return t.execTicket("set merged", id, `UPDATE tickets SET merged_into = ? WHERE id = ?`, into, id)
}

func (t *writeTx) SetTicketExtras(_ context.Context, ticketID, departmentID int64, serviceType string) error {
	return t.execTicket("set extras", ticketID, `UPDATE tickets SET department_id = ?, service_type = ? WHERE id = ?`,
		nullInt(departmentID), serviceType, ticketID)
}

func (t *writeTx) SetFavourite(_ context.Context, userID, ticketID int64, on bool, at time.Time) error {
	var err error
	if on {
		_, err = t.q.ExecContext(t.ctx, `INSERT INTO ticket_favourites (user_id, ticket_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id, ticket_id) DO NOTHING`, userID, ticketID, toDB(at))
	} else {
		_, err = t.q.ExecContext(t.ctx, `DELETE FROM ticket_favourites WHERE user_id = ? AND ticket_id = ?`, userID, ticketID)
	}
	if err != nil {
		return fmt.Errorf("favourite ticket %d for user %d: %w", ticketID, userID, err)
	}
	return nil
}

func (t *writeTx) SetRead(_ context.Context, userID, ticketID int64, read bool, at time.Time) error {
	var err error
	if read {
		_, err = t.q.ExecContext(t.ctx, `INSERT INTO ticket_reads (user_id, ticket_id, message_id, at)
			VALUES (?, ?, COALESCE((SELECT max(id) FROM messages WHERE ticket_id = ?), 0), ?)
			ON CONFLICT (user_id, ticket_id) DO UPDATE SET message_id = excluded.message_id, at = excluded.at`,
			userID, ticketID, ticketID, toDB(at))
	} else {
		_, err = t.q.ExecContext(t.ctx, `DELETE FROM ticket_reads WHERE user_id = ? AND ticket_id = ?`, userID, ticketID)
	}
	if err != nil {
		return fmt.Errorf("read mark of ticket %d for user %d: %w", ticketID, userID, err)
	}
	return nil
}

// recount sets a ticket's message counters from its messages.
func (t *writeTx) recount(ticketID int64) error {
	_, err := t.q.ExecContext(t.ctx, `UPDATE tickets SET
		message_count = (SELECT count(*) FROM messages WHERE ticket_id = ?),
		public_message_count = (SELECT count(*) FROM messages WHERE ticket_id = ? AND internal = 0 AND hidden = 0)
		WHERE id = ?`, ticketID, ticketID, ticketID)
	if err != nil {
		return fmt.Errorf("count messages of ticket %d: %w", ticketID, err)
	}
	return nil
}

func (t *writeTx) SetMessageHidden(_ context.Context, messageID int64, hidden bool) error {
	var ticketID int64
	err := t.q.QueryRowContext(t.ctx, `UPDATE messages SET hidden = ? WHERE id = ? RETURNING ticket_id`, hidden, messageID).Scan(&ticketID)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("Message", messageID)
	} else if err != nil {
		return fmt.Errorf("hide message %d: %w", messageID, err)
	}
	return t.recount(ticketID)
}

func (t *writeTx) CancelNotifications(_ context.Context, messageID int64) error {
	// Alerts to staff stay: staff see hidden messages.
	_, err := t.q.ExecContext(t.ctx, `UPDATE notifications SET state = ?, last_error = 'message hidden'
		WHERE message_id = ? AND state = 'pending' AND event NOT IN (?, ?)`,
		string(core.NotificationCanceled), messageID, string(core.NotifyNewTicket), string(core.NotifyCustomerReply))
	if err != nil {
		return fmt.Errorf("cancel notifications of message %d: %w", messageID, err)
	}
	return nil
}

func (t *writeTx) EditMessage(_ context.Context, rev *core.MessageRevision, body string, description bool) error {
	var err error
	rev.ID, err = t.insert(`INSERT INTO message_revisions (message_id, body, edited_by, edited_at)
		VALUES (?, ?, ?, ?)`, rev.MessageID, rev.Body, nullInt(rev.EditedBy), toDB(rev.EditedAt))
	if isForeignKey(err) {
		// No such message (the revision's foreign key says so before the update could).
		return notFound("Message", rev.MessageID)
	} else if err != nil {
		return fmt.Errorf("keep revision of message %d: %w", rev.MessageID, err)
	}
	var ticketID int64
	err = t.q.QueryRowContext(t.ctx, `UPDATE messages SET body = ? WHERE id = ? RETURNING ticket_id`, body, rev.MessageID).Scan(&ticketID)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("Message", rev.MessageID)
	} else if err != nil {
		return fmt.Errorf("edit message %d: %w", rev.MessageID, err)
	}
	if description {
		if _, err := t.q.ExecContext(t.ctx, `UPDATE tickets SET description = ? WHERE id = ?`, body, ticketID); err != nil {
			return fmt.Errorf("edit description of ticket %d: %w", ticketID, err)
		}
	}
	return nil
}

func (t *writeTx) MoveMessages(_ context.Context, from, to, fromMessageID int64, at time.Time) (int, error) {
	// Attachments first, found through the messages that still name the old ticket.
	if _, err := t.q.ExecContext(t.ctx, `UPDATE attachments SET ticket_id = ?
		WHERE message_id IN (SELECT id FROM messages WHERE ticket_id = ? AND id >= ?)`, to, from, fromMessageID); err != nil {
		return 0, fmt.Errorf("move attachments of ticket %d: %w", from, err)
	}
	// Notifications not yet sent about the moved messages follow them, so they name the
	// ticket the message is now in.
	if _, err := t.q.ExecContext(t.ctx, `UPDATE notifications SET ticket_id = ? WHERE state = 'pending'
		AND message_id IN (SELECT id FROM messages WHERE ticket_id = ? AND id >= ?)`, to, from, fromMessageID); err != nil {
		return 0, fmt.Errorf("move notifications of ticket %d: %w", from, err)
	}
	res, err := t.q.ExecContext(t.ctx, `UPDATE messages SET ticket_id = ? WHERE ticket_id = ? AND id >= ?`, to, from, fromMessageID)
	if err != nil {
		return 0, fmt.Errorf("move messages of ticket %d: %w", from, err)
	}
	n, _ := res.RowsAffected()
	for _, id := range []int64{from, to} {
		if err := t.recount(id); err != nil {
			return 0, err
		}
		if _, err := t.q.ExecContext(t.ctx, `UPDATE tickets SET updated_at = max(updated_at, ?) WHERE id = ?`, toDB(at), id); err != nil {
			return 0, fmt.Errorf("touch ticket %d: %w", id, err)
		}
	}
	return int(n), nil
}

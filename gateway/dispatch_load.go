package gateway

import (
	"context"
	"strings"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file loads what notifications are rendered from. A pass loads its whole batch in
// one read transaction and reads each ticket, message and user once: the batch's
// notifications mostly come in pairs about one ticket (the customer's confirmation and the
// staff alert), and a read transaction per notification cost more than its queries.

// originReader is an Outbox that finds the origins of many tickets in one read.
type originReader interface {
	// TicketOrigins returns TicketOrigin of each ticket that has one; the others are absent.
	TicketOrigins(ctx context.Context, ch core.Channel, ticketIDs []int64) (map[int64]string, error)
}

// loaded is a notification's render input as its batch loaded it, or the error loading
// it gave: the error render would have returned for it alone.
type loaded struct {
	in  renderInput
	err error
}

// readCache keeps what one read transaction found, so a batch reads each row once. Only
// answers are kept (a user not found is one); an error is read again, and gives the same.
type readCache struct {
	tickets map[int64]*core.Ticket
	msgs    map[int64]*core.Message
	users   map[int64]*core.User
	byEmail map[string]*core.User
	// convs holds tickets' public messages, for the history a mail quotes.
	convs map[int64][]core.Message
}

func newReadCache() *readCache {
	return &readCache{tickets: map[int64]*core.Ticket{}, msgs: map[int64]*core.Message{},
		users: map[int64]*core.User{}, byEmail: map[string]*core.User{}, convs: map[int64][]core.Message{}}
}

func (c *readCache) ticket(ctx context.Context, tx core.ReadTx, id int64) (*core.Ticket, error) {
	if t, ok := c.tickets[id]; ok {
		return t, nil
	}
	t, err := tx.Ticket(ctx, id)
	if err == nil {
		c.tickets[id] = t
	}
	return t, err
}

func (c *readCache) message(ctx context.Context, tx core.ReadTx, id int64) (*core.Message, error) {
	if m, ok := c.msgs[id]; ok {
		return m, nil
	}
	m, err := tx.Message(ctx, id)
	if err == nil {
		c.msgs[id] = m
	}
	return m, err
}

// conversation returns the messages of a ticket a customer sees, in order.
func (c *readCache) conversation(ctx context.Context, tx core.ReadTx, ticketID int64) ([]core.Message, error) {
	if ms, ok := c.convs[ticketID]; ok {
		return ms, nil
	}
	ms, err := tx.Messages(ctx, ticketID, false)
	if err == nil {
		c.convs[ticketID] = ms
	}
	return ms, err
}

// user returns the user or, with ENOTFOUND, nil: both are kept.
func (c *readCache) user(ctx context.Context, tx core.ReadTx, id int64) (*core.User, error) {
	if u, ok := c.users[id]; ok {
		return u, nil
	}
	u, err := tx.User(ctx, id)
	if err == nil || core.ErrorCode(err) == core.ENOTFOUND {
		c.users[id] = u
	}
	return u, err
}

func (c *readCache) userByEmail(ctx context.Context, tx core.ReadTx, email string) (*core.User, error) {
	if u, ok := c.byEmail[email]; ok {
		return u, nil
	}
	u, err := tx.UserByEmail(ctx, email)
	if err == nil || core.ErrorCode(err) == core.ENOTFOUND {
		c.byEmail[email] = u
	}
	return u, err
}

// load reads what notification n talks about, but for its origin. A user not found is
// left out (nil) as a user who is gone.
func load(ctx context.Context, tx core.ReadTx, c *readCache, n core.Notification) (renderInput, error) {
	in := renderInput{n: n}
	if n.TicketID != 0 {
		t, err := c.ticket(ctx, tx, n.TicketID)
		if err != nil {
			return in, err
		}
		in.ticket = t
	}
	if n.MessageID != 0 {
		m, err := c.message(ctx, tx, n.MessageID)
		if err != nil {
			return in, err
		}
		in.message = m
		if m.AuthorUserID != 0 {
			u, err := c.user(ctx, tx, m.AuthorUserID)
			if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
				return in, err
			}
			in.author = u
		}
	}
	if n.Kind == core.NotifyTicketActivity {
		// Who did it is in the Detail: the author of a split-off ticket's first message is
		// the customer, and a status change has no message.
		a, ok := core.ParseActivity(n.Detail)
		if ok && a.Actor != 0 {
			u, err := c.user(ctx, tx, a.Actor)
			if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
				return in, err
			}
			in.actor = u
		}
		if ok && a.Kind == core.ActivityAssigned {
			if err := loadAssignment(ctx, tx, c, a, &in); err != nil {
				return in, err
			}
		}
	}
	if n.UserID != 0 {
		u, err := c.user(ctx, tx, n.UserID)
		if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return in, err
		}
		in.recipient = u
	} else if n.Channel == core.ChannelEmail && n.Recipient != "" {
		// A staff alert goes to a configured address; when a staff user has it, their
		// reply address proves the reply is theirs.
		u, err := c.userByEmail(ctx, tx, strings.ToLower(n.Recipient))
		if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return in, err
		}
		if u != nil && u.Role.IsStaff() {
			in.recipient = u
		}
	}
	if n.Channel == core.ChannelEmail && n.TicketID != 0 && n.Kind != core.NotifyNotice {
		if err := loadHistory(ctx, tx, c, &in); err != nil {
			return in, err
		}
	}
	return in, nil
}

// loadHistory reads the earlier messages a mail quotes below its own, and their authors.
// Only mail quotes them (a chat keeps its own history), and not a notice: an automatic
// answer says its one thing.
func loadHistory(ctx context.Context, tx core.ReadTx, c *readCache, in *renderInput) error {
	msgs, err := c.conversation(ctx, tx, in.n.TicketID)
	if err != nil {
		return err
	}
	in.history = earlierPublic(msgs, in.n.MessageID)
	for _, m := range in.history {
		if m.AuthorUserID == 0 {
			continue
		}
		u, err := c.user(ctx, tx, m.AuthorUserID)
		if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return err
		}
		if in.authors == nil {
			in.authors = map[int64]*core.User{}
		}
		in.authors[m.AuthorUserID] = u
	}
	return nil
}

// needsOrigin reports a notification whose mail answers the one that opened its ticket.
func needsOrigin(n core.Notification) bool {
	return n.Channel == core.ChannelEmail && n.TicketID != 0
}

// loadBatch loads the render inputs of a batch: one read transaction for all, then the
// origins of their tickets. It returns nil when the read could not even begin; each
// notification then loads its own in deliver, as it would have alone.
func (d *Dispatcher) loadBatch(ctx context.Context, due []core.Notification) []loaded {
	if len(due) == 0 {
		return nil
	}
	out := make([]loaded, len(due))
	c := newReadCache()
	err := d.store.Read(ctx, func(tx core.ReadTx) error {
		for i, n := range due {
			out[i].in, out[i].err = load(ctx, tx, c, n)
		}
		return nil
	})
	if err != nil {
		return nil
	}
	origins := d.origins(ctx, due, out)
	for i, n := range due {
		if out[i].err != nil || !needsOrigin(n) {
			continue
		}
		if o, ok := origins[n.TicketID]; ok {
			out[i].in.origin = o.key
			out[i].err = o.err
		}
	}
	return out
}

// origin is a ticket's TicketOrigin answer.
type origin struct {
	key string
	err error
}

// origins looks up the origin of every ticket of the batch once: in one read when the
// Outbox can, else one TicketOrigin per ticket.
func (d *Dispatcher) origins(ctx context.Context, due []core.Notification, in []loaded) map[int64]origin {
	var ids []int64
	seen := map[int64]bool{}
	for i, n := range due {
		if in[i].err == nil && needsOrigin(n) && !seen[n.TicketID] {
			seen[n.TicketID] = true
			ids = append(ids, n.TicketID)
		}
	}
	found := make(map[int64]origin, len(ids))
	if len(ids) == 0 {
		return found
	}
	if or, ok := d.outbox.(originReader); ok {
		keys, err := or.TicketOrigins(ctx, core.ChannelEmail, ids)
		if err == nil {
			for _, id := range ids {
				found[id] = origin{key: keys[id]}
			}
			return found
		}
		// Each ticket on its own then, so that a failure is only its notifications'.
	}
	for _, id := range ids {
		key, err := d.outbox.TicketOrigin(ctx, core.ChannelEmail, id)
		found[id] = origin{key: key, err: err}
	}
	return found
}

// loadAssignment reads the staff user and the department an assignment post names; one
// since deleted or erased is left out (nil), and the post says so.
func loadAssignment(ctx context.Context, tx core.ReadTx, c *readCache, a core.Activity, in *renderInput) error {
	if a.User != 0 {
		u, err := c.user(ctx, tx, a.User)
		if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return err
		}
		in.assignee = u
	}
	if a.Department != 0 {
		d, err := tx.Department(ctx, a.Department)
		if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return err
		}
		in.department = d
	}
	return nil
}

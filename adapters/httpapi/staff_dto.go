package httpapi

import (
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The staff side's wire shapes; see dto.go for the conventions.

// staffWork is a ticket's staff-side state on the wire.
type staffWork struct {
	UserName           string     `json:"userName"`
	PublicMessageCount int        `json:"publicMessageCount"`
	AssigneeUserID     *int64     `json:"assigneeUserId"`
	DepartmentID       *int64     `json:"departmentId"`
	DepartmentName     *string    `json:"departmentName"`
	DueAt              *timestamp `json:"dueAt"`
	Overdue            bool       `json:"overdue"`
	Favourite          bool       `json:"favourite"`
	Unread             bool       `json:"unread"`
	Archived           bool       `json:"archived"`
	MergedInto         *int64     `json:"mergedInto"`
	// WaitingSince is when the customer's unanswered message was written; WaitingSeconds
	// how long ago that is (0 when nobody is waiting).
	WaitingSince   *timestamp `json:"waitingSince"`
	WaitingSeconds int64      `json:"waitingSeconds"`
	// The SLA (docs/operations.md): its targets' due times, the first public staff reply,
	// the resolution clock paused (Resolved), a target missed. DueAt above is the due time
	// shown: the manual deadline, else the SLA's.
	FirstResponseDueAt *timestamp `json:"firstResponseDueAt"`
	FirstResponseAt    *timestamp `json:"firstResponseAt"`
	ResolutionDueAt    *timestamp `json:"resolutionDueAt"`
	SLAPaused          bool       `json:"slaPaused"`
	Breached           bool       `json:"breached"`
}

func optionalTime(t time.Time) *timestamp {
	if t.IsZero() {
		return nil
	}
	ts := timestamp(t)
	return &ts
}

func toStaffWork(t *core.Ticket, w *core.TicketWork, now time.Time) staffWork {
	out := staffWork{UserName: w.UserName, PublicMessageCount: t.PublicMessageCount,
		AssigneeUserID: optional(w.AssigneeUserID), DepartmentID: optional(w.DepartmentID),
		DueAt: optionalTime(w.DueAt), Overdue: w.Overdue(t.Status, now), Favourite: w.Favourite,
		Unread: w.Unread, Archived: w.Archived, MergedInto: optional(w.MergedInto),
		FirstResponseDueAt: optionalTime(w.FirstResponseDue), FirstResponseAt: optionalTime(w.FirstResponseAt),
		ResolutionDueAt: optionalTime(w.ResolutionDue), SLAPaused: w.SLAPaused, Breached: w.Breached}
	if w.DepartmentID != 0 {
		name := w.DepartmentName
		out.DepartmentName = &name
	}
	if wait := w.Waiting(t.Status, now); wait > 0 {
		out.WaitingSince = optionalTime(w.WaitingSince)
		out.WaitingSeconds = int64(wait / time.Second)
	}
	return out
}

// queueItemDTO is one row of the staff queue.
type queueItemDTO struct {
	ticketItem
	AccountID int64 `json:"accountId"`
	UserID    int64 `json:"userId"`
	staffWork
}

func toQueueItem(it *core.QueueItem, now time.Time) queueItemDTO {
	return queueItemDTO{ticketItem: toTicketItem(&it.Ticket), AccountID: it.Ticket.AccountID,
		UserID: it.Ticket.UserID, staffWork: toStaffWork(&it.Ticket, &it.Work, now)}
}

// staffTicketDetail is the customer's detail plus the staff-side state.
type staffTicketDetail struct {
	ticketDetail
	staffWork
}

func toStaffTicketDetail(d *core.StaffTicketDetail, now time.Time) staffTicketDetail {
	out := staffTicketDetail{ticketDetail: toTicketDetail(&d.TicketDetail), staffWork: toStaffWork(&d.Ticket, &d.Work, now)}
	// The customer's detail never carries the whole text a reply was cut from; staff's does.
	for i := range out.Messages {
		out.Messages[i].FullBody = d.Messages[i].FullBody
		verified := !d.Messages[i].Unverified
		out.Messages[i].Verified = &verified
	}
	return out
}

type revisionDTO struct {
	ID       int64     `json:"id"`
	Message  string    `json:"message"`
	EditedBy *int64    `json:"editedBy"`
	EditedAt timestamp `json:"editedAt"`
}

type departmentDTO struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type notificationDTO struct {
	ID            int64                  `json:"id"`
	Event         core.NotificationKind  `json:"event"`
	Channel       core.Channel           `json:"channel"`
	UserID        *int64                 `json:"userId"`
	Recipient     string                 `json:"recipient"`
	TicketID      *int64                 `json:"ticketId"`
	MessageID     *int64                 `json:"messageId"`
	State         core.NotificationState `json:"state"`
	Attempts      int                    `json:"attempts"`
	LastError     *string                `json:"lastError"`
	CreatedAt     timestamp              `json:"createdAt"`
	NextAttemptAt *timestamp             `json:"nextAttemptAt"`
	SentAt        *timestamp             `json:"sentAt"`
}

func toNotification(n *core.Notification) notificationDTO {
	return notificationDTO{ID: n.ID, Event: n.Kind, Channel: n.Channel, UserID: optional(n.UserID),
		Recipient: n.Recipient, TicketID: optional(n.TicketID), MessageID: optional(n.MessageID),
		State: n.State, Attempts: n.Attempts, LastError: optional(n.LastError), CreatedAt: timestamp(n.CreatedAt),
		NextAttemptAt: optionalTime(n.NextAttemptAt), SentAt: optionalTime(n.SentAt)}
}

type inboundDTO struct {
	Channel   core.Channel `json:"channel"`
	Key       string       `json:"key"`
	Result    string       `json:"result"`
	TicketID  *int64       `json:"ticketId"`
	MessageID *int64       `json:"messageId"`
	Sender    string       `json:"sender"`
	Subject   string       `json:"subject"`
	Reason    string       `json:"reason"`
	At        timestamp    `json:"at"`
}

func toInbound(r *core.InboundRecord) inboundDTO {
	return inboundDTO{Channel: r.Channel, Key: r.Key, Result: string(r.Result), TicketID: optional(r.TicketID),
		MessageID: optional(r.MessageID), Sender: r.Sender, Subject: r.Subject, Reason: r.Reason, At: timestamp(r.At)}
}

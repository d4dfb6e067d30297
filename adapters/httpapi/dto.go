package httpapi

import (
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The wire shapes: camelCase, enums as integers, times RFC 3339 UTC, absent optional values
// as null. Each to… function is the one crossing from a core type.

// timestamp is a time on the wire: RFC 3339 in UTC, whole seconds.
type timestamp time.Time

func (t timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339) + `"`), nil
}

// optional returns a pointer to v, or nil (JSON null) for the zero value.
func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

type ticketSummary struct {
	ID           int64       `json:"id"`
	Subject      string      `json:"subject"`
	Status       core.Status `json:"status"`
	Topic        core.Topic  `json:"topic"`
	PropertyID   *int64      `json:"propertyId"`
	PropertyName *string     `json:"propertyName"`
}

func toTicketSummary(t *core.Ticket) ticketSummary {
	s := ticketSummary{ID: t.ID, Subject: t.Subject, Status: t.Status, Topic: t.Topic}
	if t.PropertyID != 0 {
		s.PropertyID = &t.PropertyID
		name := t.PropertyName
		s.PropertyName = &name
	}
	return s
}

type ticketItem struct {
	ticketSummary
	CreatedAt    timestamp `json:"createdAt"`
	UpdatedAt    timestamp `json:"updatedAt"`
	MessageCount int       `json:"messageCount"`
}

func toTicketItem(t *core.Ticket) ticketItem {
	return ticketItem{ticketSummary: toTicketSummary(t), CreatedAt: timestamp(t.CreatedAt),
		UpdatedAt: timestamp(t.UpdatedAt), MessageCount: t.MessageCount}
}

type ticketDetail struct {
	ID           int64         `json:"id"`
	AccountID    int64         `json:"accountId"`
	UserID       int64         `json:"userId"`
	Subject      string        `json:"subject"`
	Description  string        `json:"description"`
	Status       core.Status   `json:"status"`
	Topic        core.Topic    `json:"topic"`
	PropertyID   *int64        `json:"propertyId"`
	PropertyName *string       `json:"propertyName"`
	CreatedAt    timestamp     `json:"createdAt"`
	UpdatedAt    timestamp     `json:"updatedAt"`
	MessageCount int           `json:"messageCount"`
	Messages     []messageDTO  `json:"messages"`
	History      []ticketEvent `json:"history"`
}

func toTicketDetail(d *core.TicketDetail) ticketDetail {
	t := &d.Ticket
	sum := toTicketSummary(t)
	out := ticketDetail{ID: t.ID, AccountID: t.AccountID, UserID: t.UserID, Subject: t.Subject,
		Description: t.Description, Status: t.Status, Topic: t.Topic,
		PropertyID: sum.PropertyID, PropertyName: sum.PropertyName,
		CreatedAt: timestamp(t.CreatedAt), UpdatedAt: timestamp(t.UpdatedAt), MessageCount: t.MessageCount,
		Messages: make([]messageDTO, 0, len(d.Messages)), History: make([]ticketEvent, 0, len(d.History))}
	for i := range d.Messages {
		out.Messages = append(out.Messages, toMessage(&d.Messages[i]))
	}
	for i := range d.History {
		out.History = append(out.History, toTicketEvent(&d.History[i]))
	}
	return out
}

type messageDTO struct {
	ID      int64        `json:"id"`
	Author  core.Author  `json:"author"`
	Channel core.Channel `json:"channel"`
	Message string       `json:"message"`
	// FullBody and Verified are shown to staff only (see core.Message).
	FullBody    string          `json:"fullBody,omitempty"`
	Verified    *bool           `json:"verified,omitempty"`
	Internal    bool            `json:"internal"`
	Hidden      bool            `json:"hidden"`
	CreatedAt   timestamp       `json:"createdAt"`
	Attachments []attachmentDTO `json:"attachments"`
}

type attachmentDTO struct {
	ID          int64  `json:"id"`
	FileName    string `json:"fileName"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
}

func toMessage(m *core.Message) messageDTO {
	out := messageDTO{ID: m.ID, Author: m.Author, Channel: m.Channel, Message: m.Body,
		Internal: m.Internal, Hidden: m.Hidden, CreatedAt: timestamp(m.CreatedAt),
		Attachments: make([]attachmentDTO, 0, len(m.Attachments))}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, attachmentDTO{ID: a.ID, FileName: a.FileName, Size: a.Size, ContentType: a.ContentType})
	}
	return out
}

// ticketEvent is one history line. from is set for status changes only; to for status
// changes and creation (always Open); actorUserId is null for the system.
type ticketEvent struct {
	At          timestamp      `json:"at"`
	ActorUserID *int64         `json:"actorUserId"`
	Kind        core.EventKind `json:"kind"`
	From        *core.Status   `json:"from"`
	To          *core.Status   `json:"to"`
	Detail      *string        `json:"detail"`
}

func toTicketEvent(e *core.TicketEvent) ticketEvent {
	out := ticketEvent{At: timestamp(e.At), ActorUserID: optional(e.ActorUserID), Kind: e.Kind, Detail: optional(e.Detail)}
	switch e.Kind {
	case core.KindStatus:
		from, to := e.From, e.To
		out.From, out.To = &from, &to
	case core.KindCreated:
		to := e.To
		out.To = &to
	}
	return out
}

type enumMember struct {
	Value int    `json:"value"`
	Name  string `json:"name"`
	Label string `json:"label"`
}

type propertyDTO struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type adminProperty struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"accountId"`
	Name      string `json:"name"`
}

type accountDTO struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type userDTO struct {
	ID               int64     `json:"id"`
	Email            string    `json:"email"`
	Name             string    `json:"name"`
	Role             core.Role `json:"role"`
	AccountIDs       []int64   `json:"accountIds"`
	DefaultAccountID *int64    `json:"defaultAccountId"`
	Language         string    `json:"language"`
}

func toUser(u *core.User) userDTO {
	ids := u.AccountIDs
	if ids == nil {
		ids = []int64{}
	}
	return userDTO{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, AccountIDs: ids,
		DefaultAccountID: optional(u.DefaultAccountID), Language: u.Language}
}

type apiKeyDTO struct {
	ID        int64     `json:"id"`
	Key       string    `json:"key"`
	Prefix    string    `json:"prefix"`
	CreatedAt timestamp `json:"createdAt"`
}

type telegramLinkDTO struct {
	Code      string    `json:"code"`
	Link      *string   `json:"link"`
	ExpiresAt timestamp `json:"expiresAt"`
}

// convertAll turns a list of core values into their wire form; never nil, so an empty list
// is [] on the wire.
func convertAll[T, D any](list []T, conv func(*T) D) []D {
	out := make([]D, 0, len(list))
	for i := range list {
		out = append(out, conv(&list[i]))
	}
	return out
}

package core

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// A data export (GDPR art. 15 and 20): everything the desk keeps about one user, as one zip
// archive of a JSON document (export.json) and the files it names. docs/privacy.md lists
// what is in it and what is left out.

// ExportFormat names the version of export.json's layout.
const ExportFormat = "helpdeskd.user-export.v1"

// UserExport is export.json. The files it names are in the same archive.
type UserExport struct {
	Format     string    `json:"format"`
	ExportedAt time.Time `json:"exportedAt"`
	User       struct {
		ID               int64     `json:"id"`
		Email            string    `json:"email"`
		Name             string    `json:"name"`
		Role             Role      `json:"role"`
		AccountIDs       []int64   `json:"accountIds"`
		DefaultAccountID int64     `json:"defaultAccountId"`
		TelegramID       int64     `json:"telegramId"`
		Language         string    `json:"language"`
		CreatedAt        time.Time `json:"createdAt"`
		UpdatedAt        time.Time `json:"updatedAt"`
	} `json:"user"`
	Memberships []ExportAccount `json:"memberships"`
	// Tickets are the tickets the user opened, with the messages of their conversation.
	Tickets []ExportTicket `json:"tickets"`
	// OtherMessages are the messages the user wrote on tickets someone else of their
	// accounts opened: those messages only.
	OtherMessages []ExportMessage      `json:"otherMessages"`
	Notifications []ExportNotification `json:"notifications"`
	Inbound       []ExportInbound      `json:"inbound"`
}

// ExportAccount is an account the user belongs to.
type ExportAccount struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ExportTicket is one ticket the user opened.
type ExportTicket struct {
	ID           int64           `json:"id"`
	AccountID    int64           `json:"accountId"`
	Subject      string          `json:"subject"`
	Description  string          `json:"description"`
	Topic        string          `json:"topic"`
	Status       string          `json:"status"`
	PropertyID   int64           `json:"propertyId"`
	PropertyName string          `json:"propertyName"`
	Channel      Channel         `json:"channel"`
	FollowUpOf   int64           `json:"followUpOf"`
	CreatedAt    time.Time       `json:"createdAt"`
	UpdatedAt    time.Time       `json:"updatedAt"`
	Messages     []ExportMessage `json:"messages"`
	History      []ExportEvent   `json:"history"`
}

// ExportMessage is one message; its attachments' files are in the archive.
type ExportMessage struct {
	ID           int64              `json:"id"`
	TicketID     int64              `json:"ticketId"`
	AuthorUserID int64              `json:"authorUserId"`
	Author       Author             `json:"author"`
	Channel      Channel            `json:"channel"`
	Body         string             `json:"body"`
	FullBody     string             `json:"fullBody,omitempty"`
	Hidden       bool               `json:"hidden"`
	CreatedAt    time.Time          `json:"createdAt"`
	Attachments  []ExportAttachment `json:"attachments"`
}

// ExportAttachment is an attachment and the archive path of its bytes ("" when the bytes
// are missing from the blob store).
type ExportAttachment struct {
	ID          int64  `json:"id"`
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	File        string `json:"file"`
}

// ExportEvent is one line of a ticket's history.
type ExportEvent struct {
	At          time.Time `json:"at"`
	ActorUserID int64     `json:"actorUserId"`
	Kind        EventKind `json:"kind"`
	From        string    `json:"from,omitempty"`
	To          string    `json:"to,omitempty"`
	Detail      string    `json:"detail,omitempty"`
}

// ExportNotification is one notification written to the user.
type ExportNotification struct {
	ID        int64             `json:"id"`
	Kind      NotificationKind  `json:"kind"`
	Channel   Channel           `json:"channel"`
	Recipient string            `json:"recipient"`
	TicketID  int64             `json:"ticketId"`
	Detail    string            `json:"detail,omitempty"`
	State     NotificationState `json:"state"`
	CreatedAt time.Time         `json:"createdAt"`
	SentAt    *time.Time        `json:"sentAt"`
}

// ExportInbound is the record of one message the user sent to the desk by mail or chat;
// RawFile is the archive path of the raw mail, "" when none is kept.
type ExportInbound struct {
	Channel   Channel       `json:"channel"`
	Key       string        `json:"key"`
	Result    InboundResult `json:"result"`
	TicketID  int64         `json:"ticketId"`
	MessageID int64         `json:"messageId"`
	Sender    string        `json:"sender"`
	Subject   string        `json:"subject"`
	Reason    string        `json:"reason,omitempty"`
	At        time.Time     `json:"at"`
	RawFile   string        `json:"rawFile"`
}

// Export is a gathered data export, ready to be written once (WriteZip).
type Export struct {
	doc   UserExport
	blobs Blobs
	// files are the archive's files in order: the path and the blob behind it.
	files []exportFile
}

type exportFile struct{ path, hash string }

// UserID is the exported user's.
func (x *Export) UserID() int64 { return x.doc.User.ID }

// ExportUser gathers everything about a user for an admin and writes "user.export" to the
// audit log. The archive is written by the returned Export's WriteZip. Returns ENOTFOUND
// for no such user.
func (s *Service) ExportUser(ctx context.Context, actor Actor, userID int64) (*Export, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	x := &Export{blobs: s.blobs}
	err := s.store.Read(ctx, func(tx ReadTx) error { return x.gather(ctx, tx, userID) })
	if err != nil {
		return nil, err
	}
	x.doc.ExportedAt = s.clock.Now()
	detail := fmt.Sprintf("%d tickets, %d files", len(x.doc.Tickets), len(x.files))
	if err := s.store.Write(ctx, func(tx Tx) error {
		return s.audit(ctx, tx, actor, "user.export", "user:"+itoa(userID), detail)
	}); err != nil {
		return nil, err
	}
	return x, nil
}

// gather reads what the export holds in one snapshot. The user's own messages are all in it
// (hidden ones too: they are theirs); of their tickets' other messages, the ones a customer
// sees that staff or the desk wrote. Internal notes and other customers' messages are not.
func (x *Export) gather(ctx context.Context, tx ReadTx, userID int64) error {
	u, err := tx.User(ctx, userID)
	if ErrorCode(err) == ENOTFOUND {
		return Errorf(ENOTFOUND, "User %d not found.", userID)
	} else if err != nil {
		return err
	}
	d := &x.doc
	d.Format = ExportFormat
	d.User.ID, d.User.Email, d.User.Name, d.User.Role = u.ID, u.Email, u.Name, u.Role
	d.User.AccountIDs, d.User.DefaultAccountID, d.User.TelegramID = append([]int64{}, u.AccountIDs...), u.DefaultAccountID, u.TelegramID
	d.User.Language, d.User.CreatedAt, d.User.UpdatedAt = u.Language, u.CreatedAt, u.UpdatedAt
	d.Memberships, d.Tickets, d.OtherMessages = []ExportAccount{}, []ExportTicket{}, []ExportMessage{}
	for _, id := range u.AccountIDs {
		a, err := tx.Account(ctx, id)
		if err != nil {
			return err
		}
		d.Memberships = append(d.Memberships, ExportAccount{ID: a.ID, Name: a.Name})
	}
	own, err := tx.UserTicketIDs(ctx, userID)
	if err != nil {
		return err
	}
	opened := map[int64]bool{}
	for _, id := range own {
		opened[id] = true
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return err
		}
		et := ExportTicket{ID: t.ID, AccountID: t.AccountID, Subject: t.Subject, Description: t.Description,
			Topic: t.Topic.String(), Status: t.Status.String(), PropertyID: t.PropertyID, PropertyName: t.PropertyName,
			Channel: t.Channel, FollowUpOf: t.FollowUpOf, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
			Messages: []ExportMessage{}, History: []ExportEvent{}}
		msgs, err := tx.Messages(ctx, id, true)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.AuthorUserID == userID || (m.VisibleToCustomer() && m.Author != AuthorCustomer) {
				et.Messages = append(et.Messages, x.message(m))
			}
		}
		events, err := tx.TicketEvents(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range events {
			ee := ExportEvent{At: e.At, ActorUserID: e.ActorUserID, Kind: e.Kind, Detail: e.Detail}
			if e.Kind == KindStatus {
				ee.From, ee.To = e.From.String(), e.To.String()
			}
			et.History = append(et.History, ee)
		}
		d.Tickets = append(d.Tickets, et)
	}
	elsewhere, err := tx.AuthoredTicketIDs(ctx, userID)
	if err != nil {
		return err
	}
	for _, id := range elsewhere {
		if opened[id] {
			continue
		}
		msgs, err := tx.Messages(ctx, id, true)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.AuthorUserID == userID {
				d.OtherMessages = append(d.OtherMessages, x.message(m))
			}
		}
	}
	ns, err := tx.UserNotifications(ctx, userID, u.Email)
	if err != nil {
		return err
	}
	d.Notifications = make([]ExportNotification, 0, len(ns))
	for _, n := range ns {
		en := ExportNotification{ID: n.ID, Kind: n.Kind, Channel: n.Channel, Recipient: n.Recipient, TicketID: n.TicketID,
			Detail: n.Detail, State: n.State, CreatedAt: n.CreatedAt}
		if !n.SentAt.IsZero() {
			at := n.SentAt
			en.SentAt = &at
		}
		d.Notifications = append(d.Notifications, en)
	}
	in, err := tx.UserInbound(ctx, userID, u.Email)
	if err != nil {
		return err
	}
	d.Inbound = make([]ExportInbound, 0, len(in))
	raws := map[string]string{} // one file per raw mail, however many records name it
	for _, r := range in {
		ei := ExportInbound{Channel: r.Channel, Key: r.Key, Result: r.Result, TicketID: r.TicketID, MessageID: r.MessageID,
			Sender: r.Sender, Subject: r.Subject, Reason: r.Reason, At: r.At}
		if r.RawHash != "" {
			p, ok := raws[r.RawHash]
			if !ok {
				p = fmt.Sprintf("raw/%d-%.12s.eml", len(raws)+1, r.RawHash)
				raws[r.RawHash] = p
				x.files = append(x.files, exportFile{path: p, hash: r.RawHash})
			}
			ei.RawFile = p
		}
		d.Inbound = append(d.Inbound, ei)
	}
	for ti := range d.Tickets {
		x.attachFiles(d.Tickets[ti].Messages)
	}
	x.attachFiles(d.OtherMessages)
	return nil
}

// message converts m, its attachments' files not yet placed (attachFiles).
func (x *Export) message(m Message) ExportMessage {
	em := ExportMessage{ID: m.ID, TicketID: m.TicketID, AuthorUserID: m.AuthorUserID, Author: m.Author, Channel: m.Channel,
		Body: m.Body, FullBody: m.FullBody, Hidden: m.Hidden, CreatedAt: m.CreatedAt, Attachments: []ExportAttachment{}}
	for _, a := range m.Attachments {
		em.Attachments = append(em.Attachments, ExportAttachment{ID: a.ID, FileName: a.FileName, ContentType: a.ContentType,
			Size: a.Size, SHA256: a.Hash, File: fmt.Sprintf("attachments/%d/%s", a.ID, a.FileName)})
	}
	return em
}

func (x *Export) attachFiles(msgs []ExportMessage) {
	for mi := range msgs {
		for ai := range msgs[mi].Attachments {
			a := msgs[mi].Attachments[ai]
			x.files = append(x.files, exportFile{path: a.File, hash: a.SHA256})
		}
	}
}

// WriteZip writes the archive: the files first, then export.json, which says which files
// were missing from the blob store (their path is empty). An error part-way leaves w with a
// broken archive; the caller can only drop it.
func (x *Export) WriteZip(ctx context.Context, w io.Writer) error {
	zw := zip.NewWriter(w)
	missing := map[string]bool{}
	for _, f := range x.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := x.blobs.Open(ctx, f.hash)
		if ErrorCode(err) == ENOTFOUND {
			missing[f.path] = true
			continue
		} else if err != nil {
			return fmt.Errorf("export file %s: %w", f.path, err)
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.path, Method: zip.Deflate, Modified: x.doc.ExportedAt})
		if err == nil {
			_, err = io.Copy(fw, rc)
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("export file %s: %w", f.path, err)
		}
	}
	if len(missing) > 0 {
		x.clearMissing(missing)
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: "export.json", Method: zip.Deflate, Modified: x.doc.ExportedAt})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(fw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&x.doc); err != nil {
		return fmt.Errorf("export document: %w", err)
	}
	return zw.Close()
}

// clearMissing empties every path naming a missing file, however many fields name it.
func (x *Export) clearMissing(missing map[string]bool) {
	clear := func(p *string) {
		if missing[*p] {
			*p = ""
		}
	}
	for ti := range x.doc.Tickets {
		for mi := range x.doc.Tickets[ti].Messages {
			for ai := range x.doc.Tickets[ti].Messages[mi].Attachments {
				clear(&x.doc.Tickets[ti].Messages[mi].Attachments[ai].File)
			}
		}
	}
	for mi := range x.doc.OtherMessages {
		for ai := range x.doc.OtherMessages[mi].Attachments {
			clear(&x.doc.OtherMessages[mi].Attachments[ai].File)
		}
	}
	for i := range x.doc.Inbound {
		clear(&x.doc.Inbound[i].RawFile)
	}
}

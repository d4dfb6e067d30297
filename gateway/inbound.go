package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// InboundStore is what the pipeline needs of the database besides the use cases.
type InboundStore interface {
	// Inbound returns the record of a processed inbound message; ENOTFOUND if none.
	Inbound(ctx context.Context, ch core.Channel, key string) (*core.InboundRecord, error)
	// NotificationByRef returns the notification sent with a Message-ID; ENOTFOUND if none.
	NotificationByRef(ctx context.Context, ref string) (*core.Notification, error)
	// Reject records a message that changed nothing and queues notice (when set) unless its
	// recipient had perDay notices in the last day. ECONFLICT if recorded before.
	Reject(ctx context.Context, r core.InboundRecord, notice *core.Notification, perDay int) error
	// MarkBounced records a delivery report and marks the notification bounced.
	MarkBounced(ctx context.Context, notificationID int64, reason string, r core.InboundRecord) error
	// Reopenings counts how often userID reopened ticketID (Resolved → Open) since then.
	Reopenings(ctx context.Context, ticketID, userID int64, since time.Time) (int, error)
}

// MaxReopensPerDay bounds how often one sender's mail may reopen one ticket in a day: a
// robot that ignores every header and answers each "resolved" notice would otherwise reopen
// it again and again.
const MaxReopensPerDay = 3

// Results of Ingest.
const (
	ResultTicket    = core.InboundTicket
	ResultReply     = core.InboundReply
	ResultFollowUp  = core.InboundFollowUp
	ResultRejected  = core.InboundRejected
	ResultIgnored   = core.InboundIgnored
	ResultBounce    = core.InboundBounce
	ResultDuplicate = core.InboundDuplicate
)

// Outcome says what Ingest did with a message.
type Outcome struct {
	Result   core.InboundResult
	TicketID int64
	Reason   string
}

// PipelineOptions configures the inbound pipeline.
type PipelineOptions struct {
	// Address is the support address; its domain is ours.
	Address string
	// Secret keys the reply tokens; nil disables them.
	Secret []byte
	// TopicFor maps a recipient address to a topic (topic_by_address).
	TopicFor func(addr string) (core.Topic, bool)
	// NoticesPerDay bounds automatic answers to one address (default 1).
	NoticesPerDay int
	// RequireAuthenticatedStaff applies a staff user's mail only when the channel proved the
	// sender (Inbound.Authenticated) or it was sent to that user's own reply address: a From
	// is easily forged, and a staff reply goes out to the customer under our name.
	RequireAuthenticatedStaff bool
	Logger                    *slog.Logger
}

// Pipeline applies inbound messages: dedupe → robots → sender → thread → apply.
type Pipeline struct {
	svc   *core.Service
	store InboundStore
	opts  PipelineOptions
	log   *slog.Logger
}

// NewPipeline returns a pipeline over the service and store.
func NewPipeline(svc *core.Service, store InboundStore, opts PipelineOptions) *Pipeline {
	if opts.NoticesPerDay <= 0 {
		opts.NoticesPerDay = 1
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{svc: svc, store: store, opts: opts, log: log}
}

func (p *Pipeline) domain() string {
	_, d, _ := strings.Cut(p.opts.Address, "@")
	return strings.ToLower(d)
}

// Ingest applies one inbound message exactly once. A returned error means it could not be
// applied now (the database is unavailable, say) and should be tried again later; every
// outcome, rejections included, is recorded and returns no error.
func (p *Pipeline) Ingest(ctx context.Context, in Inbound) (Outcome, error) {
	if in.Key == "" {
		return Outcome{}, fmt.Errorf("inbound message without a key")
	}
	// 1. Deduplicate.
	if _, err := p.store.Inbound(ctx, in.Channel, in.Key); err == nil {
		return Outcome{Result: ResultDuplicate}, nil
	} else if core.ErrorCode(err) != core.ENOTFOUND {
		return Outcome{}, err
	}
	rec := core.InboundRecord{Channel: in.Channel, Key: in.Key, RawHash: in.RawHash, Sender: in.From,
		Subject: truncate(in.Subject, 300), At: p.now()}

	// 2. Delivery reports and robots: never answered.
	if in.Report != nil {
		return p.bounce(ctx, in, rec)
	}
	if in.Automatic || in.NullSender {
		// Before the sender is looked up: a known customer's auto-reply is kept and listed
		// too, since answering it would feed a loop.
		return p.reject(ctx, rec, ResultIgnored, robotReason(in), "", in)
	}

	// 3. Who sent it.
	var user *core.User
	var err error
	if in.Channel == core.ChannelEmail {
		user, err = p.svc.UserByEmail(ctx, in.From)
	} else {
		user, err = p.svc.UserByTelegram(ctx, in.TelegramUserID)
	}
	if core.ErrorCode(err) == core.ENOTFOUND && in.Channel != core.ChannelEmail {
		return p.reject(ctx, rec, ResultRejected, "unlinked sender", "", in)
	} else if core.ErrorCode(err) == core.ENOTFOUND {
		return p.reject(ctx, rec, ResultRejected, "unknown sender",
			"We could not match your address to a customer account, so your message did not open a ticket. "+
				"Please write from the address registered in your panel, or open the ticket in the panel.", in)
	} else if err != nil {
		return Outcome{}, err
	}
	actor := core.Actor{User: user, Channel: in.Channel, InStaffChat: in.InStaffChat}

	// 4. Which ticket.
	ticket, err := p.thread(ctx, actor, in)
	if err != nil {
		return Outcome{}, err
	}

	// Whether the sender is proven: a chat user is linked; a mail is authenticated, or was sent
	// to the reply address we made for this very user and ticket, so its sender read our mail.
	verified := in.Channel != core.ChannelEmail || in.Authenticated || p.ownReplyAddress(in, user, ticket)
	if user.Role.IsStaff() && !verified && p.opts.RequireAuthenticatedStaff {
		return p.reject(ctx, rec, ResultRejected, "staff mail not authenticated",
			"Your mail was not applied: the desk could not verify that it comes from you (no DMARC or DKIM pass, "+
				"and it was not sent to your own reply address). Reply to the notification you received, or answer in the panel.", in)
	}

	// 5 and 6. The text and the files. An answer on a ticket keeps what is new; a new
	// ticket keeps the whole text, since a forwarded thread that opens a ticket is its content.
	body, full := strings.TrimSpace(in.Text), ""
	if ticket != nil && strings.TrimSpace(in.Visible) != "" {
		body, full = strings.TrimSpace(in.Visible), body
		if full == body {
			full = ""
		}
	}
	files, refused, err := p.stage(ctx, in.Attachments)
	if err != nil {
		return Outcome{}, err
	}
	tell := ""
	if len(refused) > 0 {
		note := "Not stored: " + strings.Join(refused, "; ") + "."
		body = strings.TrimSpace(body + "\n\n[" + note + "]")
		tell = note + " Please send a smaller file, or a link to it."
	}
	src := &core.Source{Channel: in.Channel, Key: in.Key, RawHash: in.RawHash}

	if ticket != nil && ticket.Status == core.StatusResolved && !user.Role.IsStaff() {
		n, err := p.store.Reopenings(ctx, ticket.ID, user.ID, p.now().Add(-24*time.Hour))
		if err != nil {
			return Outcome{}, err
		}
		if n >= MaxReopensPerDay {
			// No answer: whoever reopens this often may be a robot, and an answer would feed it.
			return p.reject(ctx, rec, ResultRejected, fmt.Sprintf("reopened ticket #%d %d times today", ticket.ID, n), "", in)
		}
	}
	if ticket != nil && ticket.Status != core.StatusClosed {
		if body == "" && len(files) == 0 {
			body = "(empty message)"
		}
		_, _, err := p.svc.Reply(ctx, actor, core.TicketRef{ID: ticket.ID}, core.NewReply{Body: body, FullBody: full, Unverified: !verified, Files: files, Source: src, TellSender: tell})
		if err == nil {
			return Outcome{Result: ResultReply, TicketID: ticket.ID}, nil
		}
		if core.ErrorCode(err) != core.ECONFLICT || core.IsDuplicate(err) {
			return p.settle(ctx, rec, err, in)
		}
		// Closed meanwhile: fall through to the follow-up.
		ticket.Status = core.StatusClosed
	}

	nt := core.NewTicket{Subject: CleanSubject(in.Subject), Description: body, Files: files, Source: src, TellSender: tell, Unverified: !verified}
	if nt.Description == "" {
		nt.Description = "(no text)"
	}
	result := ResultTicket
	if ticket != nil {
		// A reply to a Closed ticket opens a follow-up in the same account; the
		// confirmation names the closed ticket.
		if user.Role.IsStaff() {
			return p.reject(ctx, rec, ResultRejected, fmt.Sprintf("staff reply to closed ticket #%d", ticket.ID),
				fmt.Sprintf("Ticket #%d is closed; your reply was not added to it.", ticket.ID), in)
		}
		nt.AccountID, nt.FollowUpOf, nt.PropertyID, nt.Topic = ticket.AccountID, ticket.ID, ticket.PropertyID, ticket.Topic
		result = ResultFollowUp
	} else {
		nt.AccountID = accountOf(user)
		if nt.AccountID == 0 {
			reason, text := "sender has no account", "Your address is not linked to a customer account, so your message did not open a ticket."
			if user.Role.IsStaff() {
				reason, text = "staff mail naming no ticket", "Your message names no ticket. To answer a ticket, reply to its notification."
			} else if len(user.AccountIDs) > 1 {
				reason, text = "sender has several accounts and no default", "Your address belongs to several accounts, so we could not tell which one the ticket is for. Please open it in the panel."
			}
			return p.reject(ctx, rec, ResultRejected, reason, text, in)
		}
		nt.Topic = p.topic(in.To)
		if in.Topic != nil {
			nt.Topic = *in.Topic
		}
	}
	t, err := p.svc.CreateTicket(ctx, actor, nt)
	if err != nil {
		return p.settle(ctx, rec, err, in)
	}
	p.log.Info("inbound message opened a ticket", "channel", in.Channel, "ticket", t.ID, "result", result)
	return Outcome{Result: result, TicketID: t.ID}, nil
}

// settle turns a use case's error into an outcome: a duplicate is done, a domain refusal is
// recorded as rejected, anything else is retried later.
func (p *Pipeline) settle(ctx context.Context, rec core.InboundRecord, err error, in Inbound) (Outcome, error) {
	switch {
	case core.IsDuplicate(err):
		return Outcome{Result: ResultDuplicate}, nil
	case core.ErrorCode(err) == core.EINTERNAL || core.ErrorCode(err) == core.EUNAVAILABLE:
		return Outcome{}, err
	}
	return p.reject(ctx, rec, ResultRejected, core.ErrorMessage(err), "Your message could not be added: "+core.ErrorMessage(err), in)
}

// Fail records a message its adapter could not decode at all, so that staff can list it.
func (p *Pipeline) Fail(ctx context.Context, ch core.Channel, key, sender, subject, rawHash, reason string) error {
	rec := core.InboundRecord{Channel: ch, Key: key, Result: core.InboundFailed, Sender: sender, Subject: truncate(subject, 300),
		RawHash: rawHash, Reason: reason, At: p.now()}
	err := p.store.Reject(ctx, rec, nil, 0)
	if core.ErrorCode(err) == core.ECONFLICT {
		return nil
	}
	return err
}

func (p *Pipeline) now() time.Time { return p.svc.Now() }

// reject records the message with result and reason and, unless it came from a robot,
// answers the sender with text (at most NoticesPerDay a day).
func (p *Pipeline) reject(ctx context.Context, rec core.InboundRecord, result core.InboundResult, reason, text string, in Inbound) (Outcome, error) {
	rec.Result, rec.Reason = result, reason
	var notice *core.Notification
	if text != "" && !in.Automatic && !in.NullSender && in.From != "" && in.Channel == core.ChannelEmail && p.svc.NotifiesEmail() {
		notice = &core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail, Recipient: in.From,
			Detail: text, InReplyTo: in.Key}
	}
	err := p.store.Reject(ctx, rec, notice, p.opts.NoticesPerDay)
	if core.ErrorCode(err) == core.ECONFLICT {
		return Outcome{Result: ResultDuplicate}, nil
	} else if err != nil {
		return Outcome{}, err
	}
	p.log.Info("inbound message not applied", "channel", in.Channel, "result", result, "reason", reason)
	return Outcome{Result: result, Reason: reason}, nil
}

// robotReason is what the inbound list says of a robot's mail.
func robotReason(in Inbound) string {
	switch {
	case in.AutomaticReason != "":
		return "automatic message: " + in.AutomaticReason
	case in.NullSender:
		return "automatic message: mailer daemon or null return path"
	}
	return "automatic message"
}

// bounce marks the notification a delivery report is about. From may be empty: a bounce
// needs no sender, it is never answered.
func (p *Pipeline) bounce(ctx context.Context, in Inbound, rec core.InboundRecord) (Outcome, error) {
	rec.Result = ResultBounce
	r := in.Report
	reason := strings.TrimSpace(fmt.Sprintf("delivery report: %s %s %s", r.Action, r.Status, r.Recipient))
	rec.Reason = reason
	// The returned message's ID first; a bounce that returned nothing may still answer our
	// mail by In-Reply-To or References. A report naming none of ours is still a bounce.
	var n *core.Notification
	refs := append(append([]string{r.OriginalMessageID}, in.InReplyTo...), reversed(in.References)...)
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		found, err := p.store.NotificationByRef(ctx, canonicalRef(ref, p.domain()))
		if err == nil {
			n = found
			break
		} else if core.ErrorCode(err) != core.ENOTFOUND {
			return Outcome{}, err
		}
	}
	failed := r.Action == "" || strings.EqualFold(r.Action, "failed")
	var err error
	if n != nil && failed {
		rec.TicketID = n.TicketID
		err = p.store.MarkBounced(ctx, n.ID, reason, rec)
	} else {
		err = p.store.Reject(ctx, rec, nil, 0)
	}
	if core.ErrorCode(err) == core.ECONFLICT {
		return Outcome{Result: ResultDuplicate}, nil
	} else if err != nil {
		return Outcome{}, err
	}
	return Outcome{Result: ResultBounce, TicketID: rec.TicketID, Reason: reason}, nil
}

// thread finds the ticket a message answers: a reply token, a Message-ID we sent, a [#id]
// subject tag — the first that names a ticket the sender may see. Nil when none does.
func (p *Pipeline) thread(ctx context.Context, actor core.Actor, in Inbound) (*core.Ticket, error) {
	var candidates []int64
	if in.ReplyToTicket != 0 {
		candidates = append(candidates, in.ReplyToTicket)
	}
	if p.opts.Secret != nil {
		for _, to := range in.To {
			if id, _, ok := TicketFromAddress(to, p.opts.Address, p.opts.Secret); ok {
				candidates = append(candidates, id)
			}
		}
	}
	refs := append(append([]string{}, in.InReplyTo...), reversed(in.References)...)
	for _, ref := range refs {
		if id, ok := TicketFromThreadRoot(ref, p.domain()); ok {
			candidates = append(candidates, id)
			continue
		}
		n, err := p.store.NotificationByRef(ctx, canonicalRef(ref, p.domain()))
		if err == nil && n.TicketID != 0 {
			candidates = append(candidates, n.TicketID)
		} else if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return nil, err
		}
	}
	if id, ok := TicketFromSubject(in.Subject); ok {
		candidates = append(candidates, id)
	}
	for _, id := range candidates {
		t, err := p.svc.VisibleTicket(ctx, actor, id)
		if err == nil {
			return t, nil
		}
		if core.ErrorCode(err) != core.ENOTFOUND {
			return nil, err
		}
	}
	return nil, nil
}

// ownReplyAddress reports whether the message was sent to the reply address made for user on
// ticket t.
func (p *Pipeline) ownReplyAddress(in Inbound, user *core.User, t *core.Ticket) bool {
	if t == nil || p.opts.Secret == nil {
		return false
	}
	for _, to := range in.To {
		if tid, uid, ok := TicketFromAddress(to, p.opts.Address, p.opts.Secret); ok && tid == t.ID && uid == user.ID {
			return true
		}
	}
	return false
}

// stage keeps the attachments that fit and describes the ones that do not.
func (p *Pipeline) stage(ctx context.Context, in []File) ([]core.FileRef, []string, error) {
	var files []core.FileRef
	var refused []string
	limit := p.svc.MaxAttachmentBytes()
	for _, f := range in {
		if f.TooLarge || int64(len(f.Data)) > limit || f.Staged != nil && f.Staged.Size > limit {
			refused = append(refused, fmt.Sprintf("%q (%s) is larger than the %s limit", core.SafeFileName(f.Name), core.HumanBytes(f.Size), core.HumanBytes(limit)))
			continue
		}
		if f.Staged != nil {
			ref := *f.Staged
			ref.FileName = core.SafeFileName(f.Name)
			files = append(files, ref)
			continue
		}
		ref, err := p.svc.StageFile(ctx, f.Name, f.ContentType, bytes.NewReader(f.Data))
		if core.ErrorCode(err) == core.ETOOLARGE {
			refused = append(refused, fmt.Sprintf("%q is larger than the %s limit", core.SafeFileName(f.Name), core.HumanBytes(limit)))
			continue
		} else if err != nil {
			return nil, nil, err
		}
		files = append(files, ref)
	}
	return files, refused, nil
}

func (p *Pipeline) topic(to []string) core.Topic {
	if p.opts.TopicFor == nil {
		return core.TopicGeneral
	}
	for _, addr := range to {
		if t, ok := p.opts.TopicFor(addr); ok {
			return t
		}
	}
	return core.TopicGeneral
}

// accountOf picks the account of a new ticket: the user's only one, or their default.
func accountOf(u *core.User) int64 {
	if u.DefaultAccountID != 0 && u.MemberOf(u.DefaultAccountID) {
		return u.DefaultAccountID
	}
	if len(u.AccountIDs) == 1 {
		return u.AccountIDs[0]
	}
	return 0
}

// canonicalRef undoes what a client may do to one of our Message-IDs (Apple Mail and some
// webmails lower- or upper-case it): an ID of one of our notification forms, the random
// "helpdeskd.n<32 hex>@domain" or the earlier "helpdeskd.n<id>@domain", is looked up as we
// wrote it (both are lower case); any other is looked up as it is.
func canonicalRef(ref, domain string) string {
	lower := strings.ToLower(ref)
	rest, ok := strings.CutPrefix(lower, "helpdeskd.n")
	if !ok {
		return ref
	}
	num, dom, ok := strings.Cut(rest, "@")
	if !ok || dom != domain {
		return ref
	}
	if len(num) == 32 && strings.Trim(num, "0123456789abcdef") == "" {
		return lower
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return ref
	}
	return legacyNotificationMessageID(n, domain)
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

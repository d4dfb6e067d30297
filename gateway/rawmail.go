package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"

	"helpdeskd/core"
)

// MaxRawMailBytes bounds the raw message kept for a mail.
const MaxRawMailBytes = 64 << 20

// RawMail applies raw mails as a mailbox poller hands them over: it keeps the raw message
// (so nothing is ever lost), parses it with Parse, and runs the pipeline. Parse is the mail
// adapter's decoder; on error it still returns what it could read (key, sender, subject).
type RawMail struct {
	Blobs    core.Blobs
	Pipeline *Pipeline
	Parse    func(raw []byte) (Inbound, error)
	// Count is told the fate of each mail: "processed", "rejected" or "failed"; may be nil.
	Count  func(result string)
	Logger *slog.Logger
}

// Apply handles one raw mail. failed is set, with a reason, for a mail that cannot be parsed
// at all (it is recorded for staff and belongs in the failed mailbox); an error means it could
// not be handled now and should be tried again.
func (h *RawMail) Apply(ctx context.Context, raw []byte) (failed bool, reason string, err error) {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hash, _, err := h.Blobs.Put(ctx, bytes.NewReader(raw), MaxRawMailBytes)
	if err != nil {
		return false, "", err
	}
	in, perr := h.Parse(raw)
	if perr != nil {
		sum := sha256.Sum256(raw)
		key := "sha256:" + hex.EncodeToString(sum[:])
		if err := h.Pipeline.Fail(ctx, core.ChannelEmail, key, in.From, in.Subject, hash, perr.Error()); err != nil {
			return false, "", err
		}
		h.count("failed")
		log.Warn("mail could not be parsed", "err", perr)
		return true, perr.Error(), nil
	}
	in.RawHash = hash
	out, err := h.Pipeline.Ingest(ctx, in)
	if err != nil {
		return false, "", err
	}
	switch out.Result {
	case ResultRejected, ResultIgnored:
		h.count("rejected")
	default:
		h.count("processed")
	}
	log.Info("mail processed", "result", out.Result, "ticket", out.TicketID)
	return false, "", nil
}

func (h *RawMail) count(result string) {
	if h.Count != nil {
		h.Count(result)
	}
}

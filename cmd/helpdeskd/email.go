package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"

	"helpdeskd/adapters/imap"
	"helpdeskd/adapters/mail"
	"helpdeskd/adapters/metrics"
	"helpdeskd/core"
	"helpdeskd/gateway"
)

// mailHandler connects the IMAP poller to the pipeline: keep the raw message, parse it,
// apply it, and tell the poller where the mail goes.
type mailHandler struct {
	blobs    core.Blobs
	pipeline *gateway.Pipeline
	parse    mail.Options
	metrics  *metrics.Metrics
	log      *slog.Logger
}

var _ imap.Handler = (*mailHandler)(nil)

// maxRawBytes bounds the raw message kept; the poller refuses bigger mails before this.
const maxRawBytes = 64 << 20

func (h *mailHandler) HandleMail(ctx context.Context, m imap.Mail) (imap.Disposition, string, error) {
	hash, _, err := h.blobs.Put(ctx, bytes.NewReader(m.Raw), maxRawBytes)
	if err != nil {
		return 0, "", err
	}
	in, perr := mail.Parse(m.Raw, h.parse)
	if perr != nil {
		sum := sha256.Sum256(m.Raw)
		key := "sha256:" + hex.EncodeToString(sum[:])
		if err := h.pipeline.Fail(ctx, core.ChannelEmail, key, in.From, in.Subject, hash, perr.Error()); err != nil {
			return 0, "", err
		}
		h.count("failed")
		h.log.Warn("mail could not be parsed", "uid", m.UID, "err", perr)
		return imap.Failed, perr.Error(), nil
	}
	in.RawHash = hash
	out, err := h.pipeline.Ingest(ctx, in)
	if err != nil {
		return 0, "", err
	}
	switch out.Result {
	case gateway.ResultRejected, gateway.ResultIgnored:
		h.count("rejected")
	default:
		h.count("processed")
	}
	h.log.Info("mail processed", "uid", m.UID, "result", out.Result, "ticket", out.TicketID)
	return imap.Processed, "", nil
}

func (h *mailHandler) count(result string) {
	if h.metrics != nil {
		h.metrics.InboundMail(result)
	}
}

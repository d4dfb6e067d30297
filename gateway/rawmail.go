package gateway

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/helpdeskd/helpdeskd/core"
)

// MaxRawMailBytes bounds the raw message kept for a mail.
const MaxRawMailBytes = 64 << 20

// RawMail applies raw mails as a mailbox poller hands them over: it keeps the raw message
// (so nothing is ever lost), parses it with Parse, and runs the pipeline. Parse is the mail
// adapter's decoder of the size bytes of raw; on error it still returns what it could read
// (key, sender, subject). It is handed stage, which keeps an attachment in the blob store
// as it is decoded (mail.Options.Stage): a mail is read from raw as it goes, and neither it
// nor its files are ever held whole.
type RawMail struct {
	Blobs    core.Blobs
	Pipeline *Pipeline
	Parse    func(raw io.ReaderAt, size int64, stage StageFunc) (Inbound, error)
	// Count is told the fate of each mail: "processed", "rejected" or "failed"; may be nil.
	Count  func(result string)
	Logger *slog.Logger
}

// StageFunc keeps a file's bytes, read from r to its end, in the blob store and returns the
// reference to attach, or nil and the size r held when it is over attachments.max_bytes.
type StageFunc func(name, contentType string, r io.Reader) (*core.FileRef, int64, error)

// Apply handles the size bytes of one raw mail. failed is set, with a reason, for a mail that
// cannot be parsed at all (it is recorded for staff and belongs in the failed mailbox); an
// error means it could not be handled now and should be tried again.
func (h *RawMail) Apply(ctx context.Context, raw io.ReaderAt, size int64) (failed bool, reason string, err error) {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// A read error of raw is the spool's, not the mail's: it must not fail the mail.
	rd := &readAtErr{r: raw}
	hash, _, err := h.Blobs.Put(ctx, io.NewSectionReader(rd, 0, size), MaxRawMailBytes)
	if err != nil {
		return false, "", err
	}
	if d, ok := h.Blobs.(heldPuts); ok {
		defer d.Done(hash)
	}
	st := &staging{ctx: ctx, svc: h.Pipeline.svc}
	in, perr := h.Parse(rd, size, st.stage)
	if err := cmp.Or(rd.error(), st.err); err != nil {
		h.discard(ctx, st, log)
		return false, "", fmt.Errorf("keep mail and its files: %w", err)
	}
	if perr != nil {
		h.discard(ctx, st, log)
		sum := sha256.New()
		if _, err := io.Copy(sum, io.NewSectionReader(rd, 0, size)); err != nil {
			return false, "", fmt.Errorf("read mail: %w", err)
		}
		key := "sha256:" + hex.EncodeToString(sum.Sum(nil))
		if err := h.Pipeline.Fail(ctx, core.ChannelEmail, key, in.From, in.Subject, hash, perr.Error()); err != nil {
			return false, "", err
		}
		h.count("failed")
		log.Warn("mail could not be parsed", "err", perr)
		return true, perr.Error(), nil
	}
	in.RawHash = hash
	out, err := h.Pipeline.Ingest(ctx, in)
	if err != nil || out.Result != ResultTicket && out.Result != ResultReply && out.Result != ResultFollowUp {
		// Only a new message references the staged files.
		h.discard(ctx, st, log)
	}
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

// heldPuts is a blob store that may hold what Put stored until the write that references it
// commits, and keep it in that write (the SQLite store does so with a small raw mail). Done
// says that write is over, committed or not.
type heldPuts interface {
	Done(hash string)
}

func (h *RawMail) count(result string) {
	if h.Count != nil {
		h.Count(result)
	}
}

// discard gives up the files staged for a mail that no message references; whatever it
// cannot remove now the blob sweep removes later.
func (h *RawMail) discard(ctx context.Context, st *staging, log *slog.Logger) {
	if err := h.Pipeline.svc.DiscardStaged(context.WithoutCancel(ctx), st.files); err != nil {
		log.Warn("staged attachments not discarded, left to the sweep", "err", err)
	}
}

// staging stages one mail's attachments as the parser decodes them, and remembers them.
type staging struct {
	ctx   context.Context
	svc   *core.Service
	files []core.FileRef
	err   error
}

func (s *staging) stage(name, contentType string, r io.Reader) (*core.FileRef, int64, error) {
	cr := &countingReader{r: r}
	ref, err := s.svc.StageFile(s.ctx, name, contentType, cr)
	if core.ErrorCode(err) == core.ETOOLARGE {
		// The sender is told the real size: the rest is counted, not kept.
		_, err = io.Copy(io.Discard, cr)
		if err == nil {
			return nil, cr.n, nil
		}
	}
	if err != nil {
		s.err = cmp.Or(s.err, err)
		return nil, 0, err
	}
	s.files = append(s.files, ref)
	return &ref, ref.Size, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readAtErr remembers the first error of r other than io.EOF.
type readAtErr struct {
	r   io.ReaderAt
	mu  sync.Mutex
	err error
}

func (e *readAtErr) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		e.mu.Lock()
		e.err = cmp.Or(e.err, err)
		e.mu.Unlock()
	}
	return n, err
}

func (e *readAtErr) error() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

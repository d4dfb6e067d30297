package core

import (
	"context"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Files of a ticket: staging an upload into Blobs, the names and types kept, and reading an
// attachment back.

// FileRef is an uploaded file already kept in Blobs, ready to attach to a message.
type FileRef struct {
	FileName    string
	ContentType string
	Size        int64
	Hash        string
}

// StageFile keeps the bytes of one upload and returns a reference to attach. The size
// limit is enforced while reading. The client's file name is reduced to a safe base
// name; it is never used as a path.
//
// Returns ETOOLARGE over attachments.max_bytes.
func (s *Service) StageFile(ctx context.Context, fileName, contentType string, r io.Reader) (FileRef, error) {
	hash, size, err := s.blobs.Put(ctx, r, s.opts.MaxAttachmentBytes)
	if err != nil {
		if ErrorCode(err) == ETOOLARGE {
			return FileRef{}, &Error{Code: ETOOLARGE, Message: "File is too large: the limit is " + HumanBytes(s.opts.MaxAttachmentBytes) + ".",
				Fields: []FieldError{{Field: "file", Message: "larger than " + HumanBytes(s.opts.MaxAttachmentBytes)}}}
		}
		return FileRef{}, err
	}
	return FileRef{FileName: SafeFileName(fileName), ContentType: safeContentType(contentType), Size: size, Hash: hash}, nil
}

// DiscardStaged gives up files staged for a use case that did not happen (the request
// failed): their bytes are removed unless anything else references them. Errors leave
// the bytes for the store's sweep and are returned for the log.
func (s *Service) DiscardStaged(ctx context.Context, files []FileRef) error {
	var errs []error
	for _, f := range files {
		if err := s.blobs.Discard(ctx, f.Hash); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SafeFileName reduces a client-supplied name to a base name without path separators,
// control characters, line separators, bidi controls (which disguise an extension) or
// leading dots, at most MaxFileNameChars long; "file" if nothing is left.
func SafeFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || lineControl(r) || bidiControl(r) || r == '/' || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if utf8.RuneCountInString(name) > MaxFileNameChars {
		name = string([]rune(name)[:MaxFileNameChars])
	}
	if name == "" {
		return "file"
	}
	return name
}

func safeContentType(ct string) string {
	ct = strings.TrimSpace(ct)
	if ct == "" || len(ct) > 255 || strings.ContainsAny(ct, "\r\n") {
		return "application/octet-stream"
	}
	return ct
}

// OpenAttachment returns an attachment of a ticket and its bytes; the caller closes them.
// An attachment of a message hidden from the actor is not found.
func (s *Service) OpenAttachment(ctx context.Context, actor Actor, ref TicketRef, attachmentID int64) (*Attachment, io.ReadCloser, error) {
	if ref.AccountID != 0 {
		if err := s.checkAccount(ctx, actor, ref.AccountID); err != nil {
			return nil, nil, err
		}
	}
	var a *Attachment
	err := s.store.Read(ctx, func(tx ReadTx) error {
		t, err := loadTicket(ctx, tx, actor, ref)
		if err != nil {
			return err
		}
		a, err = tx.Attachment(ctx, attachmentID)
		if ErrorCode(err) == ENOTFOUND || (err == nil && a.TicketID != t.ID) {
			return Errorf(ENOTFOUND, "Attachment not found.")
		} else if err != nil {
			return err
		}
		if actor.isStaff() {
			return nil
		}
		m, err := tx.Message(ctx, a.MessageID)
		if err != nil {
			return err
		}
		if !m.VisibleToCustomer() {
			return Errorf(ENOTFOUND, "Attachment not found.")
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.blobs.Open(ctx, a.Hash)
	if err != nil {
		return nil, nil, err
	}
	return a, rc, nil
}

func attachmentsOf(files []FileRef, now time.Time) []Attachment {
	out := make([]Attachment, 0, len(files))
	for _, f := range files {
		out = append(out, Attachment{FileName: f.FileName, ContentType: f.ContentType, Size: f.Size, Hash: f.Hash, CreatedAt: now})
	}
	return out
}

// HumanBytes writes a size the way people read it: "10 MB", "1.5 MB", "512 KB", "900 bytes".
func HumanBytes(n int64) string {
	trim := func(f float64) string { return strings.TrimSuffix(strconv.FormatFloat(f, 'f', 1, 64), ".0") }
	switch {
	case n >= 1<<20:
		return trim(float64(n)/(1<<20)) + " MB"
	case n >= 1<<10:
		return trim(float64(n)/(1<<10)) + " KB"
	}
	return itoa(n) + " bytes"
}

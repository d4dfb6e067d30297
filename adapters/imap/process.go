package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// meta is what is known of a mail before its body is fetched.
type meta struct {
	uid  imap.UID
	size int64
	date time.Time
}

// outcome is what became of the mails of a batch, to be moved together.
type outcome struct {
	processed, failed imap.UIDSet
	n                 int
}

func (o *outcome) add(uid imap.UID, d Disposition) {
	if d == Failed {
		o.failed.AddNum(uid)
	} else {
		o.processed.AddNum(uid)
	}
	o.n++
}

// round handles every mail of the selected mailbox once, in ascending UID order. again
// reports that something must be retried after a backoff (a handler's error, a failed move);
// err is a connection error.
//
// The connection works while the handlers do: the next batch's bodies are fetched while the
// mails of one are handled, and a handled batch is moved while the next one is handled (one
// move at a time, in order). Every command names mails by UID and no two of them touch the
// same mails, so pipelining them on the one connection is unambiguous (RFC 9051, 5.5).
func (p *Poller) round(ctx context.Context, cn *conn, uidValidity uint32) (again bool, err error) {
	uids, err := search(cn.c)
	if err != nil {
		return false, err
	}
	fetched := make(chan fetchedBatch) // unbuffered: at most one batch waits, fetched
	quit := make(chan struct{})
	go p.fetchAhead(ctx, cn, uids, fetched, quit)
	defer func() {
		close(quit)
		for fb := range fetched { // the fetcher is done with the connection once it closes this
			fb.close()
		}
	}()
	var moving chan moveResult // the move in flight, if any
	settle := func() (again bool, err error) {
		if moving == nil {
			return false, nil
		}
		r := <-moving
		moving = nil
		return !r.moved && r.err == nil, r.err
	}
	for fb := range fetched {
		if fb.err != nil {
			settle()
			return false, fb.err
		}
		var out outcome
		for _, m := range fb.big {
			reason := fmt.Sprintf("message of %d bytes is over the limit of %d bytes", m.size, p.opts.MaxMessageBytes)
			p.log.Warn("imap mail too big, not fetched", "uid", m.uid, "mailbox", cn.failed, "size", m.size, "reason", reason)
			out.add(m.uid, Failed)
		}
		stop := p.handleBatch(ctx, cn, uidValidity, fb, &out)
		fb.close()
		if again, err := settle(); err != nil || again {
			return again, err
		}
		if out.n > 0 {
			moving = make(chan moveResult, 1)
			go func() {
				moved, err := p.moveAway(cn, &out)
				moving <- moveResult{moved, err}
			}()
		}
		if stop {
			if _, err := settle(); err != nil {
				return false, err
			}
			return true, nil
		}
	}
	return settle()
}

type moveResult struct {
	moved bool
	err   error
}

// fetchedBatch is a batch of mails with their bodies, or the connection error that ended
// the fetching.
type fetchedBatch struct {
	batch, big []meta // big: over the limit, not fetched
	raws       map[imap.UID]spooled
	err        error
}

func (fb fetchedBatch) close() {
	for _, f := range fb.raws {
		f.close()
	}
}

// fetchAhead fetches the mails of uids batch by batch and hands each batch to out, until
// all are handed, quit is closed or a fetch fails (that error is the last batch). It closes
// out when it no longer uses the connection.
func (p *Poller) fetchAhead(ctx context.Context, cn *conn, uids []imap.UID, out chan<- fetchedBatch, quit <-chan struct{}) {
	defer close(out)
	send := func(fb fetchedBatch) bool {
		select {
		case out <- fb:
			return true
		case <-quit:
			fb.close()
			return false
		}
	}
	for len(uids) > 0 && ctx.Err() == nil {
		n := min(len(uids), fetchChunk)
		chunk := uids[:n]
		uids = uids[n:]
		metas, err := fetchMeta(cn.c, chunk)
		if err != nil {
			send(fetchedBatch{err: err})
			return
		}
		for len(metas) > 0 {
			var fb fetchedBatch
			fb.batch, fb.big, metas = p.nextBatch(metas)
			if len(fb.batch) > 0 {
				uids := make([]imap.UID, len(fb.batch))
				for i, m := range fb.batch {
					uids[i] = m.uid
				}
				if fb.raws, err = p.fetchBodies(cn.c, uids); err != nil {
					send(fetchedBatch{err: err})
					return
				}
			}
			if !send(fb) {
				return
			}
		}
	}
}

// nextBatch takes from metas the next mails to fetch together — up to batchBytes, at least
// one — and the oversized mails among them, which are not fetched.
func (p *Poller) nextBatch(metas []meta) (batch, big, rest []meta) {
	var bytes int64
	for i, m := range metas {
		if m.size > p.opts.MaxMessageBytes {
			big = append(big, m)
			continue
		}
		if len(batch) > 0 && bytes+m.size > batchBytes {
			return batch, big, metas[i:]
		}
		batch = append(batch, m)
		bytes += m.size
	}
	return batch, big, nil
}

// fetchMeta returns UID, size and date of the mails, ascending by UID; mails gone meanwhile
// are left out.
func fetchMeta(c *imapclient.Client, uids []imap.UID) ([]meta, error) {
	var bufs []*imapclient.FetchMessageBuffer
	err := wait(c, func() (err error) {
		bufs, err = c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true}).Collect()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch sizes of uids %s: %w", imap.UIDSetNum(uids...), err)
	}
	metas := make([]meta, 0, len(bufs))
	for _, b := range bufs {
		if b.UID != 0 {
			metas = append(metas, meta{uid: b.UID, size: b.RFC822Size, date: b.InternalDate})
		}
	}
	slices.SortFunc(metas, func(a, b meta) int { return int(int64(a.uid) - int64(b.uid)) })
	return metas, nil
}

// handleBatch hands the fetched mails of fb to the handler, at most Workers at a time,
// adding the dispositions to out. stop reports a handler's error: the mail and those after
// it stay.
func (p *Poller) handleBatch(ctx context.Context, cn *conn, uidValidity uint32, fb fetchedBatch, out *outcome) (stop bool) {
	batch, raws := fb.batch, fb.raws
	type result struct {
		d      Disposition
		reason string
		err    error
		done   bool
	}
	results := make([]result, len(batch))
	sem := make(chan struct{}, p.opts.Workers)
	var wg sync.WaitGroup
	var failed atomic.Bool // after a handler error no new mail is started
	for i, m := range batch {
		raw, ok := raws[m.uid]
		if !ok || raw.data == nil || ctx.Err() != nil {
			continue // gone meanwhile, too big (below), or shutting down
		}
		sem <- struct{}{}
		if failed.Load() {
			<-sem
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d, reason, err := p.h.HandleMail(ctx, Mail{UID: uint32(m.uid), UIDValidity: uidValidity, Raw: raw.data, Size: raw.size, InternalDate: m.date})
			results[i] = result{d: d, reason: reason, err: err, done: true}
			if err != nil {
				failed.Store(true)
			}
		}()
	}
	wg.Wait()
	for i, m := range batch {
		if raw, ok := raws[m.uid]; ok && raw.data == nil {
			reason := fmt.Sprintf("message is over the limit of %d bytes", p.opts.MaxMessageBytes)
			p.log.Warn("imap mail too big", "uid", m.uid, "mailbox", cn.failed, "reason", reason)
			out.add(m.uid, Failed)
			continue
		}
		r := results[i]
		if !r.done {
			if ctx.Err() != nil || failed.Load() {
				stop = true
			}
			continue
		}
		if r.err != nil {
			// The mail stays where it is and is tried again after a backoff; the ones
			// handled beside it are moved (a second HandleMail of them would be harmless).
			p.log.Warn("imap mail not handled now, will retry", "uid", m.uid, "mailbox", cn.mailbox, "err", r.err)
			stop = true
			continue
		}
		if r.d == Failed {
			p.log.Warn("imap mail failed", "uid", m.uid, "mailbox", cn.failed, "reason", r.reason)
		}
		out.add(m.uid, r.d)
	}
	return stop
}

// fetchBodies returns the raw mails by UID, each in a temporary file (the caller closes
// them); a mail the server sent bigger than MaxMessageBytes after all has no file.
func (p *Poller) fetchBodies(c *imapclient.Client, uids []imap.UID) (map[imap.UID]spooled, error) {
	set := imap.UIDSetNum(uids...)
	stopGuard := guard(c, fetchTimeout)
	defer stopGuard()
	cmd := c.Fetch(set, &imap.FetchOptions{
		UID:         true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	raws := make(map[imap.UID]spooled, len(uids))
	fail := func(err error) (map[imap.UID]spooled, error) {
		for _, f := range raws {
			f.close()
		}
		return nil, fmt.Errorf("fetch uids %s: %w", set, err)
	}
	var readErr error
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var uid imap.UID
		var raw spooled
		var got bool
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				raw.close() // a second body section: the last one counts
				f, err := p.spool(it.Literal)
				if err != nil && readErr == nil {
					readErr = err
				}
				raw, got = f, true
			}
		}
		if uid != 0 && got {
			raws[uid].close()
			raws[uid] = raw
		} else {
			raw.close()
		}
	}
	if err := cmd.Close(); err != nil {
		return fail(err)
	}
	if readErr != nil {
		return fail(readErr)
	}
	return raws, nil
}

// spooled is a fetched mail in its temporary file; file is nil for one over the limit.
// spooled is a fetched mail: in memory when small, else in a temporary file. data is nil
// for a mail that was not kept (over the limit).
type spooled struct {
	data io.ReaderAt
	file *os.File
	size int64
	path string // "" once removed
}

// memSpoolBytes is the size up to which a mail whose size the server announced is held in
// memory rather than in a temporary file: a file's create, write and removal cost more
// than parsing a small mail (a tenth of the ingest's CPU when mails came in fast), and a
// batch of fetchChunk such mails holds at most a few megabytes.
const memSpoolBytes = 256 << 10

func (s spooled) close() {
	if s.file != nil {
		s.file.Close()
	}
	if s.path != "" {
		os.Remove(s.path)
	}
}

// spool copies a literal to a temporary file (to memory when the server announced it
// small), or drains it when it is longer than MaxMessageBytes. A large literal streams from
// the connection to the file: nothing of it stays in memory.
func (p *Poller) spool(r io.Reader) (spooled, error) {
	limit := p.opts.MaxMessageBytes
	if lr, ok := r.(imap.LiteralReader); ok && lr.Size() > limit {
		_, err := io.Copy(io.Discard, r)
		return spooled{}, err
	} else if ok && lr.Size() <= memSpoolBytes {
		buf := make([]byte, lr.Size())
		if _, err := io.ReadFull(r, buf); err != nil {
			_, _ = io.Copy(io.Discard, r)
			return spooled{}, fmt.Errorf("read mail: %w", err)
		}
		return spooled{data: bytes.NewReader(buf), size: int64(len(buf))}, nil
	}
	f, err := os.CreateTemp(p.opts.TempDir, "helpdeskd-mail-*")
	if err != nil {
		_, _ = io.Copy(io.Discard, r) // the next response must still be read
		return spooled{}, fmt.Errorf("spool mail: %w", err)
	}
	s := spooled{data: f, file: f, path: f.Name()}
	// Removed at once where the system allows it (the open file stays readable), so that
	// a crash leaves nothing behind.
	if os.Remove(s.path) == nil {
		s.path = ""
	}
	s.size, err = io.Copy(f, io.LimitReader(r, limit+1))
	if err == nil && s.size > limit {
		s.close()
		_, err = io.Copy(io.Discard, r)
		return spooled{}, err
	}
	if err != nil {
		s.close()
		_, _ = io.Copy(io.Discard, r)
		return spooled{}, fmt.Errorf("spool mail: %w", err)
	}
	return s, nil
}

// moveAway marks the handled mails \Seen and moves them to the processed and failed
// mailboxes. moved is false when the server refused (the mails stay and are handled again
// next round; the mailboxes are created again if they went missing); err is a connection
// error.
func (p *Poller) moveAway(cn *conn, out *outcome) (moved bool, err error) {
	all := append(append(imap.UIDSet{}, out.processed...), out.failed...)
	err = wait(cn.c, cn.c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close)
	if err != nil {
		return p.refused(cn, fmt.Errorf("mark uids %s seen: %w", all, err))
	}
	for _, mv := range []struct {
		set imap.UIDSet
		to  string
	}{{out.processed, cn.processed}, {out.failed, cn.failed}} {
		if len(mv.set) == 0 {
			continue
		}
		err := wait(cn.c, func() error { _, err := cn.c.Move(mv.set, mv.to).Wait(); return err })
		if err != nil {
			return p.refused(cn, fmt.Errorf("move uids %s to %s: %w", mv.set, mv.to, err))
		}
		p.log.Debug("imap mails moved", "uids", mv.set.String(), "mailbox", mv.to)
	}
	return true, nil
}

// refused sorts a command's error: the server's NO or BAD is logged and retried later (after
// making sure the mailboxes exist), anything else is a connection error.
func (p *Poller) refused(cn *conn, err error) (bool, error) {
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) {
		return false, err
	}
	p.log.Warn("imap server refused, will retry", "mailbox", cn.mailbox, "err", err)
	if err := p.ensureMailboxes(cn, cn.processed, cn.failed); err != nil {
		return false, err
	}
	return false, nil
}

func sortUIDs(uids []imap.UID) { slices.Sort(uids) }

package core

import (
	"context"
	"fmt"
	"time"
)

// Retention: raw mails and rejected mail are kept for a number of days ([retention] in the
// configuration), then purged by a periodic job (PurgeRetention).

// Retention is the [retention] section: days to keep each kind (0: forever).
type Retention struct {
	RawMailDays      int
	RejectedMailDays int
}

// RetentionResult counts what one PurgeRetention removed.
type RetentionResult struct {
	// RawMails are inbound records whose raw mail was forgotten; Rejected the rejected
	// records deleted; Files the blobs removed; FilesLeft those left for the blob sweep.
	RawMails, Rejected, Files, FilesLeft int
}

// retentionBatch bounds the records one write of PurgeRetention changes, so a first run
// over years of mail never holds the writer long.
const retentionBatch = 500

// day is the retention's unit; the days are counted from the service's clock.
const day = 24 * time.Hour

// PurgeRetention purges, as of the service's clock, the raw mails received more than
// r.RawMailDays days ago and the rejected inbound records older than r.RejectedMailDays
// days, batch by batch, removing the bytes no other row needs after each batch. Each batch
// that purged anything is written to the audit log as "retention.purge" by the system.
// Safe to run on several nodes at once (each batch is one write of what it finds), though
// it is meant to run on one (the "retention" lease).
func (s *Service) PurgeRetention(ctx context.Context, r Retention) (RetentionResult, error) {
	var res RetentionResult
	now := s.clock.Now()
	kinds := []struct {
		days  int
		count *int
		what  string
		purge func(tx Tx, before time.Time) (int, []string, error)
	}{
		{r.RawMailDays, &res.RawMails, "raw mails", func(tx Tx, before time.Time) (int, []string, error) {
			hashes, err := tx.PurgeRawMails(ctx, before, retentionBatch)
			return len(hashes), hashes, err
		}},
		{r.RejectedMailDays, &res.Rejected, "rejected mails", func(tx Tx, before time.Time) (int, []string, error) {
			return tx.PurgeRejected(ctx, before, retentionBatch)
		}},
	}
	for _, k := range kinds {
		if k.days <= 0 {
			continue
		}
		before := now.Add(-time.Duration(k.days) * day)
		for {
			var hashes []string
			n := 0
			err := s.store.Write(ctx, func(tx Tx) error {
				var err error
				if n, hashes, err = k.purge(tx, before); err != nil {
					return err
				}
				if n == 0 {
					return nil
				}
				return s.audit(ctx, tx, Actor{}, "retention.purge", "inbound", fmt.Sprintf("%d %s older than %d days", n, k.what, k.days))
			})
			if err != nil {
				return res, err
			}
			*k.count += n
			done, left := s.removeBlobs(ctx, hashes)
			res.Files, res.FilesLeft = res.Files+done, res.FilesLeft+left
			if n < retentionBatch {
				break
			}
		}
	}
	return res, nil
}

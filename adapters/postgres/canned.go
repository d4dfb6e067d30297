package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// The canned replies (core.CannedReadTx, core.CannedTx).

const cannedColumns = `id, name, body, status, created_at, updated_at, updated_by`

// scanCanned reads one row of cannedColumns.
func scanCanned(row scanner) (core.CannedReply, error) {
	var c core.CannedReply
	var status *int64
	var created, updated *time.Time
	if err := row.Scan(&c.ID, &c.Name, &c.Body, &status, &created, &updated, &c.UpdatedBy); err != nil {
		return c, err
	}
	if status != nil {
		st := core.Status(*status)
		c.Status = &st
	}
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	return c, nil
}

func (t *readTx) cannedBy(what string, key any, where string) (*core.CannedReply, error) {
	c, err := scanCanned(t.tx.QueryRow(t.ctx, `SELECT `+cannedColumns+` FROM canned_replies WHERE `+where, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Canned reply", key)
	} else if err != nil {
		return nil, fmt.Errorf("canned reply %s %v: %w", what, key, err)
	}
	return &c, nil
}

func (t *readTx) CannedReply(_ context.Context, id int64) (*core.CannedReply, error) {
	return t.cannedBy("id", id, `id = $1`)
}

func (t *readTx) CannedReplyByName(_ context.Context, name string) (*core.CannedReply, error) {
	return t.cannedBy("name", name, `name = $1`)
}

func (t *readTx) CannedReplies(_ context.Context) ([]core.CannedReply, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT `+cannedColumns+` FROM canned_replies ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("canned replies: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.CannedReply, error) { return scanCanned(r) })
	if err != nil {
		return nil, fmt.Errorf("canned replies: %w", err)
	}
	return nonNil(list), nil
}

func cannedStatus(st *core.Status) any {
	if st == nil {
		return nil
	}
	return int(*st)
}

// cannedConflict turns the unique name's violation into core's ECONFLICT naming the field.
func cannedConflict(err error) error {
	if isUnique(err) {
		return core.WithCause(&core.Error{Code: core.ECONFLICT, Message: "A canned reply with this name exists.",
			Fields: []core.FieldError{{Field: "name", Message: "is taken"}}}, err)
	}
	return err
}

func (t *writeTx) CreateCannedReply(_ context.Context, c *core.CannedReply) error {
	err := t.tx.QueryRow(t.ctx, `INSERT INTO canned_replies (name, body, status, created_at, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		c.Name, c.Body, cannedStatus(c.Status), ts(c.CreatedAt), ts(c.UpdatedAt), c.UpdatedBy).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("create canned reply: %w", cannedConflict(err))
	}
	return nil
}

func (t *writeTx) UpdateCannedReply(_ context.Context, c *core.CannedReply) error {
	tag, err := t.tx.Exec(t.ctx, `UPDATE canned_replies SET name = $1, body = $2, status = $3, updated_at = $4, updated_by = $5 WHERE id = $6`,
		c.Name, c.Body, cannedStatus(c.Status), ts(c.UpdatedAt), c.UpdatedBy, c.ID)
	if err != nil {
		return fmt.Errorf("update canned reply %d: %w", c.ID, cannedConflict(err))
	}
	if tag.RowsAffected() == 0 {
		return notFound("Canned reply", c.ID)
	}
	return nil
}

func (t *writeTx) DeleteCannedReply(_ context.Context, id int64) error {
	tag, err := t.tx.Exec(t.ctx, `DELETE FROM canned_replies WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete canned reply %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Canned reply", id)
	}
	return nil
}

var (
	_ core.CannedReadTx = (*readTx)(nil)
	_ core.CannedTx     = (*writeTx)(nil)
)

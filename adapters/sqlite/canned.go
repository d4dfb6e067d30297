package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sqlitelib "modernc.org/sqlite/lib"

	"github.com/helpdeskd/helpdeskd/core"
)

// The canned replies (core.CannedReadTx, core.CannedTx).

const cannedColumns = `id, name, body, status, created_at, updated_at, updated_by`

// scanCanned reads one row of cannedColumns.
func scanCanned(scan func(...any) error) (core.CannedReply, error) {
	var c core.CannedReply
	var status sql.NullInt64
	var created, updated int64
	if err := scan(&c.ID, &c.Name, &c.Body, &status, &created, &updated, &c.UpdatedBy); err != nil {
		return c, err
	}
	if status.Valid {
		st := core.Status(status.Int64)
		c.Status = &st
	}
	c.CreatedAt, c.UpdatedAt = fromDB(created), fromDB(updated)
	return c, nil
}

func (t *readTx) cannedBy(what string, key any, where string) (*core.CannedReply, error) {
	c, err := scanCanned(t.q.QueryRowContext(t.ctx, `SELECT `+cannedColumns+` FROM canned_replies WHERE `+where, key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Canned reply", key)
	} else if err != nil {
		return nil, fmt.Errorf("canned reply %s %v: %w", what, key, err)
	}
	return &c, nil
}

func (t *readTx) CannedReply(_ context.Context, id int64) (*core.CannedReply, error) {
	return t.cannedBy("id", id, `id = ?`)
}

func (t *readTx) CannedReplyByName(_ context.Context, name string) (*core.CannedReply, error) {
	return t.cannedBy("name", name, `name = ?`)
}

func (t *readTx) CannedReplies(_ context.Context) ([]core.CannedReply, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+cannedColumns+` FROM canned_replies ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("canned replies: %w", err)
	}
	defer rows.Close()
	list := []core.CannedReply{}
	for rows.Next() {
		c, err := scanCanned(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("canned replies: %w", err)
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

func cannedStatus(st *core.Status) sql.NullInt64 {
	if st == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*st), Valid: true}
}

// cannedConflict turns the unique name's violation into core's ECONFLICT naming the field.
func cannedConflict(err error) error {
	if resultCode(err) == sqlitelib.SQLITE_CONSTRAINT_UNIQUE {
		return core.WithCause(&core.Error{Code: core.ECONFLICT, Message: "A canned reply with this name exists.",
			Fields: []core.FieldError{{Field: "name", Message: "is taken"}}}, err)
	}
	return err
}

func (t *writeTx) CreateCannedReply(_ context.Context, c *core.CannedReply) error {
	id, err := t.insert(`INSERT INTO canned_replies (name, body, status, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)`,
		c.Name, c.Body, cannedStatus(c.Status), toDB(c.CreatedAt), toDB(c.UpdatedAt), c.UpdatedBy)
	if err != nil {
		return fmt.Errorf("create canned reply: %w", cannedConflict(err))
	}
	c.ID = id
	return nil
}

func (t *writeTx) UpdateCannedReply(_ context.Context, c *core.CannedReply) error {
	res, err := t.q.ExecContext(t.ctx, `UPDATE canned_replies SET name = ?, body = ?, status = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
		c.Name, c.Body, cannedStatus(c.Status), toDB(c.UpdatedAt), c.UpdatedBy, c.ID)
	if err != nil {
		return fmt.Errorf("update canned reply %d: %w", c.ID, cannedConflict(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Canned reply", c.ID)
	}
	return nil
}

func (t *writeTx) DeleteCannedReply(_ context.Context, id int64) error {
	res, err := t.q.ExecContext(t.ctx, `DELETE FROM canned_replies WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete canned reply %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Canned reply", id)
	}
	return nil
}

var (
	_ core.CannedReadTx = (*readTx)(nil)
	_ core.CannedTx     = (*writeTx)(nil)
)

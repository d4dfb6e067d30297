package core

import "context"

// CannedReadTx reads the canned replies.
type CannedReadTx interface {
	// CannedReply returns a canned reply, or ENOTFOUND.
	CannedReply(ctx context.Context, id int64) (*CannedReply, error)
	// CannedReplyByName returns the canned reply with the name (names are stored in lower
	// case), or ENOTFOUND.
	CannedReplyByName(ctx context.Context, name string) (*CannedReply, error)
	// CannedReplies lists every canned reply by name.
	CannedReplies(ctx context.Context) ([]CannedReply, error)
}

// CannedTx writes the canned replies.
type CannedTx interface {
	CannedReadTx
	// CreateCannedReply stores c and sets its ID; ECONFLICT if another has its name.
	CreateCannedReply(ctx context.Context, c *CannedReply) error
	// UpdateCannedReply replaces the name, body, status, UpdatedAt and UpdatedBy of the
	// canned reply c.ID; ENOTFOUND if there is none, ECONFLICT if another has the name.
	UpdateCannedReply(ctx context.Context, c *CannedReply) error
	// DeleteCannedReply removes a canned reply; ENOTFOUND if there is none.
	DeleteCannedReply(ctx context.Context, id int64) error
}

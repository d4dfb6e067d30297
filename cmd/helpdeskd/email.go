package main

import (
	"context"

	"github.com/helpdeskd/helpdeskd/adapters/imap"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// mailHandler hands the poller's mails to the gateway and tells the poller where each goes.
type mailHandler struct{ raw *gateway.RawMail }

var _ imap.Handler = mailHandler{}

// maxRawBytes bounds the mails the poller fetches; bigger ones go to the failed mailbox.
const maxRawBytes = gateway.MaxRawMailBytes

func (h mailHandler) HandleMail(ctx context.Context, m imap.Mail) (imap.Disposition, string, error) {
	failed, reason, err := h.raw.Apply(ctx, m.Raw, m.Size)
	if err != nil {
		return 0, "", err
	}
	if failed {
		return imap.Failed, reason, nil
	}
	return imap.Processed, "", nil
}

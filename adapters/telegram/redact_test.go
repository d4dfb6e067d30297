package telegram_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
)

// captured keeps what the gateway logged, and passes it on to the test's log (which fails
// the test on a line that shows a secret).
type captured struct {
	testLog
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *captured) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(p)
	c.mu.Unlock()
	return c.testLog.Write(p)
}

func (c *captured) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// A Bot API that drops every connection: the transport errors (which quote the request
// URL, …/bot<TOKEN>/method) reach the log and the notification's lastError, which any
// staff user reads through GET /api/staff/Notification, without the token.
func TestTransportError_TokenNeitherLoggedNorInLastError(t *testing.T) {
	d := newDesk(t, telegramtest.Dropping(t), 0)
	logs := &captured{testLog: testLog{t: t, secrets: []string{d.token}}}
	d.opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d.start()

	// A new ticket is posted to the staff chat: that send fails on the dropped line.
	if code := d.call("POST", "/api/Ticket?accountId=1", "ann", map[string]any{"subject": "Help", "description": "d"}, nil); code != 201 {
		t.Fatalf("create ticket: %d", code)
	}
	var lastError string
	eventually(t, expectWait, func() error {
		var list []struct {
			Channel   string  `json:"channel"`
			LastError *string `json:"lastError"`
		}
		if code := d.call("GET", "/api/staff/Notification?state=pending", "sam", nil, &list); code != 200 {
			t.Fatalf("notifications: %d", code)
		}
		for _, n := range list {
			if n.Channel == "telegram" && n.LastError != nil {
				lastError = *n.LastError
				return nil
			}
		}
		return fmt.Errorf("no telegram notification with a last error: %+v", list)
	})
	d.stop()

	secret := d.token[strings.IndexByte(d.token, ':')+1:]
	if strings.Contains(lastError, secret) || !strings.Contains(lastError, "/bot<token>/") {
		t.Errorf("lastError %q: want the URL with the token redacted", lastError)
	}
	out := logs.String()
	if !strings.Contains(out, "telegram getUpdates failed") || !strings.Contains(out, "/bot<token>/getUpdates") {
		t.Errorf("the failed poll was not logged with the redacted URL:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("the log shows the token")
	}
}

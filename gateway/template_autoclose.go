package gateway

import (
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// CloseAtData is when a close_reminder's ticket will be closed automatically.
type CloseAtData struct {
	// Date is the time in UTC, "2006-01-02 15:04 UTC", as message dates are shown.
	Date string
}

// closeAtData reads a close_reminder's time from its Detail (core.CloseReminderTimeFormat);
// a Detail that does not parse (a hand-made row) is shown as it is rather than failing.
func closeAtData(n core.Notification) *CloseAtData {
	at, err := time.Parse(core.CloseReminderTimeFormat, n.Detail)
	if err != nil {
		return &CloseAtData{Date: n.Detail}
	}
	return &CloseAtData{Date: at.UTC().Format("2006-01-02 15:04 UTC")}
}

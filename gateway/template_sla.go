package gateway

import (
	"github.com/helpdeskd/helpdeskd/core"
)

// SLAData is what an sla_warning is about: which target of the ticket is due, and when.
type SLAData struct {
	// Target is core.SLAFirstResponse or core.SLAResolution ("first_response", "resolution").
	Target string
	// Due is the due time in UTC, "2006-01-02 15:04 UTC", as message dates are shown.
	Due string
}

// slaData reads an sla_warning's Detail (core.FormatSLADetail); one that does not parse (a
// hand-made row) is shown as it is rather than failing.
func slaData(n core.Notification) *SLAData {
	target, due, ok := core.ParseSLADetail(n.Detail)
	if !ok {
		return &SLAData{Target: string(core.SLAFirstResponse), Due: n.Detail}
	}
	return &SLAData{Target: string(target), Due: due.UTC().Format("2006-01-02 15:04 UTC")}
}

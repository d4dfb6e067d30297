package httpapi_test

import (
	"regexp"
	"strconv"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
)

var refPattern = regexp.MustCompile(`"#/components/schemas/([^"]+)"`)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// withNotify turns email notifications on, so that tests can read the outbox.
func withNotify(c *core.Options, _ *httpapi.Options) {
	c.Notify = core.NotifyOptions{Email: true, StaffEmails: []string{"desk@helpdesk.test"}}
}

package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"github.com/helpdeskd/helpdeskd/core"
)

// TestRetention_PurgesOnTheRightDay: with rejected_mail_days 7 and raw_mail_days 30, a
// rejected mail is listed until 7 days have passed and gone (with its raw mail) just after;
// a reply's raw mail is in the user's export until 30 days have passed, gone just after,
// while the reply itself stays; each purge is audited.
func TestRetention_PurgesOnTheRightDay(t *testing.T) {
	e, w := newGDPREnv(t)
	ctx := context.Background()
	start := e.clock.Now() // the reply's raw mail arrived now (newGDPREnv)
	rawRejected := "From: stranger@x.test\r\n\r\nREJECTED-RAW-0005\r\n"
	hash, _, err := e.db.Blobs().Put(ctx, strings.NewReader(rawRejected), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Reject(ctx, core.InboundRecord{Channel: core.ChannelEmail, Key: "<spam@x.test>", Result: core.InboundRejected,
		RawHash: hash, Sender: "stranger@x.test", Subject: "hello", Reason: "unknown sender", At: start}, nil, 1); err != nil {
		t.Fatal(err)
	}
	policy := core.Retention{RawMailDays: 30, RejectedMailDays: 7}
	rejected := func() int {
		t.Helper()
		r := e.json("GET", "/api/staff/InboundMail?result=rejected", e.staff, nil)
		expect(t, r, http.StatusOK)
		return r.env.TotalRecords
	}
	rawInExport := func() bool {
		t.Helper()
		_, doc := e.export(e.admin, aliceID)
		return len(doc.Inbound) == 1 && doc.Inbound[0].RawFile != ""
	}
	stored := func(h string) bool { return containsSuffix(teststore.BlobHashes(t, e.db), h) }
	purge := func(at time.Time) core.RetentionResult {
		t.Helper()
		e.clock.Set(at)
		res, err := e.svc.PurgeRetention(ctx, policy)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	steps := []struct {
		name               string
		at                 time.Time
		rejected           int
		raw                bool
		rejectedBlob, mail bool
	}{
		{"a minute before the 7th day", start.Add(7*24*time.Hour - time.Minute), 1, true, true, true},
		{"a minute after the 7th day", start.Add(7*24*time.Hour + time.Minute), 0, true, false, true},
		{"a minute before the 30th day", start.Add(30*24*time.Hour - time.Minute), 0, true, false, true},
		{"a minute after the 30th day", start.Add(30*24*time.Hour + time.Minute), 0, false, false, false},
	}
	for _, s := range steps {
		purge(s.at)
		if got := rejected(); got != s.rejected {
			t.Errorf("%s: %d rejected mails listed, want %d", s.name, got, s.rejected)
		}
		if got := rawInExport(); got != s.raw {
			t.Errorf("%s: raw mail in the export = %v, want %v", s.name, got, s.raw)
		}
		if got := stored(hash); got != s.rejectedBlob {
			t.Errorf("%s: rejected raw mail stored = %v, want %v", s.name, got, s.rejectedBlob)
		}
		if got := stored(w.rawHash); got != s.mail {
			t.Errorf("%s: reply's raw mail stored = %v, want %v", s.name, got, s.mail)
		}
	}
	if d := e.staffDetail(w.aliceTicket); !strings.Contains(messagesText(d.Messages), "still down") {
		t.Error("the reply went with its raw mail")
	}
	r := e.json("GET", "/api/admin/Audit?action=retention.purge", e.admin, nil)
	expect(t, r, http.StatusOK)
	var audit []auditRow
	r.data(t, &audit)
	if len(audit) != 2 || audit[0].ActorUserID != nil || !strings.Contains(audit[0].Detail, "1 raw mails") || !strings.Contains(audit[1].Detail, "1 rejected") {
		t.Errorf("audit = %+v, want the two purges by the system", audit)
	}
	// Off (0 days) purges nothing, however old.
	e.clock.Advance(3650 * 24 * time.Hour)
	if res, err := e.svc.PurgeRetention(ctx, core.Retention{}); err != nil || res != (core.RetentionResult{}) {
		t.Errorf("retention off purged %+v, %v", res, err)
	}
}

func messagesText(msgs []messageData) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Message + "\n")
	}
	return b.String()
}

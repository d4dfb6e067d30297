package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// The [sla] section as the daemon reads it becomes core's policies with their calendars:
// the acceptance case counted through the configuration the operator writes.
func TestSLAOptions_FromTheConfigurationFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.toml")
	err := os.WriteFile(path, []byte(`
[sla]
warn_before = "15m"

[[sla.calendars]]
name = "office"
timezone = "Europe/Sofia"
holidays = ["2026-12-14"]
[sla.calendars.hours]
monday = "09:00-18:00"
tuesday = "09:00-18:00"
wednesday = "09:00-18:00"
thursday = "09:00-18:00"
friday = "09:00-18:00"

[[sla.policies]]
calendar = "office"
first_response = "4h"
resolution = "40h"

[[sla.policies]]
topic = 3
calendar = "office"
first_response = "1h"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var logs bytes.Buffer
	opts := slaOptions(cfg.SLA, slog.New(slog.NewTextHandler(&logs, nil)))
	if logs.Len() > 0 {
		t.Errorf("logged %s", logs.String())
	}
	if opts.WarnBefore != 15*time.Minute || len(opts.Policies) != 2 {
		t.Fatalf("options %+v", opts)
	}
	def, billing := opts.Policies[0], opts.Policies[1]
	if def.Name != "default" || def.Topic != nil || def.FirstResponse != 4*time.Hour || def.Resolution != 40*time.Hour {
		t.Errorf("default policy %+v", def)
	}
	if billing.Name != "topic=3" || billing.Topic == nil || *billing.Topic != core.TopicBilling || billing.Resolution != 0 {
		t.Errorf("billing policy %+v", billing)
	}
	loc, _ := time.LoadLocation("Europe/Sofia")
	for _, c := range []struct{ from, want time.Time }{
		{time.Date(2026, 12, 4, 17, 55, 0, 0, loc), time.Date(2026, 12, 7, 12, 55, 0, 0, loc)},
		{time.Date(2026, 12, 11, 17, 55, 0, 0, loc), time.Date(2026, 12, 15, 12, 55, 0, 0, loc)}, // Monday the 14th is a holiday
	} {
		if got := def.Calendar.AddBusiness(c.from, def.FirstResponse); !got.Equal(c.want) {
			t.Errorf("from %s due %s, want %s", c.from, got, c.want)
		}
	}
	if def.Calendar != billing.Calendar {
		t.Error("two policies of one calendar got two calendars")
	}
	if (&opts).Fingerprint() == "" {
		t.Error("no fingerprint for a configuration with policies")
	}
}

package config

import (
	"testing"
	"time"
)

const slaTOML = `
[sla]
warn_before = "45m"

[[sla.calendars]]
name = "office"
timezone = "Europe/Sofia"
holidays = ["2026-12-25"]
[sla.calendars.hours]
monday = "09:00-18:00"
friday = "09:00-12:00, 13:00-18:00"

[[sla.policies]]
calendar = "office"
first_response = "4h"
resolution = "40h"

[[sla.policies]]
topic = 3
department = 2
calendar = "office"
first_response = "1h"
`

func TestLoad_SLA(t *testing.T) {
	c, err := Load(writeTOML(t, slaTOML), []string{"HELPDESKD_SLA_WARN_BEFORE=20m"})
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	s := c.SLA
	if s.WarnBefore.D() != 20*time.Minute {
		t.Errorf("warn_before = %s, want the environment's 20m", s.WarnBefore.D())
	}
	if len(s.Calendars) != 1 || s.Calendars[0].Timezone != "Europe/Sofia" || s.Calendars[0].Hours.Friday != "09:00-12:00, 13:00-18:00" ||
		len(s.Calendars[0].Holidays) != 1 {
		t.Errorf("calendars = %+v", s.Calendars)
	}
	if len(s.Policies) != 2 || s.Policies[0].Name() != "default" || s.Policies[1].Name() != "topic=3,department=2" ||
		s.Policies[1].FirstResponse.D() != time.Hour || s.Policies[1].Resolution.D() != 0 {
		t.Errorf("policies = %+v", s.Policies)
	}
}

func TestValidate_SLANamesTheKey(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{"unknown time zone", `[[sla.calendars]]
name = "a"
timezone = "Mars/Olympus"
hours = { monday = "09:00-18:00" }`, []string{"sla.calendars[1].timezone", "Mars/Olympus"}},
		{"bad hours", `[[sla.calendars]]
name = "a"
timezone = "UTC"
hours = { monday = "18:00-09:00", tuesday = "9-17" }`, []string{"sla.calendars[1].hours.monday", "ends before it starts", "sla.calendars[1].hours.tuesday"}},
		{"a calendar never open", `[[sla.calendars]]
name = "a"
timezone = "UTC"`, []string{"sla.calendars[1].hours", "at least one day"}},
		{"bad holiday", `[[sla.calendars]]
name = "a"
timezone = "UTC"
hours = { monday = "09:00-18:00" }
holidays = ["25.12.2026"]`, []string{"sla.calendars[1].holidays", "item 1"}},
		{"unknown calendar", `[[sla.policies]]
calendar = "nope"
first_response = "4h"`, []string{"sla.policies[1].calendar", `"nope"`}},
		{"no target", `[[sla.calendars]]
name = "a"
timezone = "UTC"
hours = { monday = "09:00-18:00" }
[[sla.policies]]
calendar = "a"`, []string{"sla.policies[1]", "needs first_response or resolution"}},
		{"topic out of range, twice the default", `[[sla.calendars]]
name = "a"
timezone = "UTC"
hours = { monday = "09:00-18:00" }
[[sla.policies]]
calendar = "a"
first_response = "1h"
[[sla.policies]]
calendar = "a"
resolution = "1h"
[[sla.policies]]
topic = 9
calendar = "a"
resolution = "1h"`, []string{"sla.policies[2]", "same tickets as sla.policies[1]", "sla.policies[3].topic"}},
		{"negative warning", `[sla]
warn_before = "-5m"`, []string{"sla.warn_before"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeTOML(t, tt.toml), nil)
			wantErr(t, err, tt.want...)
		})
	}
}

func TestParseHours(t *testing.T) {
	tests := []struct {
		in   string
		want []HourRange
		ok   bool
	}{
		{"", nil, true},
		{"09:00-18:00", []HourRange{{9 * time.Hour, 18 * time.Hour}}, true},
		{"00:00-24:00", []HourRange{{0, 24 * time.Hour}}, true},
		{" 09:00-12:30 , 13:30-18:00 ", []HourRange{{9 * time.Hour, 12*time.Hour + 30*time.Minute}, {13*time.Hour + 30*time.Minute, 18 * time.Hour}}, true},
		{"13:00-18:00, 09:00-12:00", nil, false},
		{"09:00-12:00, 11:00-13:00", nil, false},
		{"09:00", nil, false},
		{"24:30-25:00", nil, false},
		{"9:5-10:00", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseHours(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseHours(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && len(got) != len(tt.want) {
			t.Errorf("ParseHours(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range tt.want {
			if got[i] != tt.want[i] {
				t.Errorf("ParseHours(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

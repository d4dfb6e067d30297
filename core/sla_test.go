package core

import (
	"testing"
	"time"
)

func TestSLAOptions_PolicyFor(t *testing.T) {
	billing, ssl := TopicBilling, TopicSSL
	o := SLAOptions{Policies: []SLAPolicy{
		{Name: "default"},
		{Name: "topic=3", Topic: &billing},
		{Name: "department=7", DepartmentID: 7},
		{Name: "topic=3,department=7", Topic: &billing, DepartmentID: 7},
		{Name: "topic=4", Topic: &ssl},
	}}
	tests := []struct {
		topic Topic
		dept  int64
		want  string
	}{
		{TopicGeneral, 0, "default"},
		{TopicBilling, 0, "topic=3"},
		{TopicGeneral, 7, "department=7"},
		{TopicBilling, 7, "topic=3,department=7"},
		{TopicSSL, 7, "department=7"},
		{TopicSSL, 8, "topic=4"},
	}
	for _, tt := range tests {
		if got := o.policyFor(tt.topic, tt.dept); got == nil || got.Name != tt.want {
			t.Errorf("policyFor(%v, %d) = %+v, want %s", tt.topic, tt.dept, got, tt.want)
		}
	}
	if p := (&SLAOptions{Policies: []SLAPolicy{{Name: "topic=3", Topic: &billing}}}).policyFor(TopicGeneral, 0); p != nil {
		t.Errorf("no default: policyFor = %+v, want none", p)
	}
}

func TestSLAOptions_FingerprintFollowsWhatDecidesDueTimes(t *testing.T) {
	cal := func(holiday string) *Calendar {
		c := &Calendar{Name: "office", Location: time.UTC, Holidays: map[string]bool{holiday: true}}
		c.Week[time.Monday] = []Span{{9 * time.Hour, 18 * time.Hour}}
		return c
	}
	base := SLAOptions{WarnBefore: time.Minute, Policies: []SLAPolicy{{Name: "default", Calendar: cal("2026-12-25"), FirstResponse: time.Hour}}}
	same := SLAOptions{WarnBefore: time.Hour, Policies: []SLAPolicy{{Name: "default", Calendar: cal("2026-12-25"), FirstResponse: time.Hour}}}
	holiday := SLAOptions{Policies: []SLAPolicy{{Name: "default", Calendar: cal("2026-12-24"), FirstResponse: time.Hour}}}
	target := SLAOptions{Policies: []SLAPolicy{{Name: "default", Calendar: cal("2026-12-25"), FirstResponse: 2 * time.Hour}}}
	if base.Fingerprint() != same.Fingerprint() {
		t.Error("warn_before changed the fingerprint; it decides no due time")
	}
	if base.Fingerprint() == holiday.Fingerprint() || base.Fingerprint() == target.Fingerprint() {
		t.Error("a holiday or a target changed and the fingerprint did not")
	}
	if (&SLAOptions{}).Fingerprint() != "" {
		t.Error("no policies, yet a fingerprint")
	}
}

func TestTicketSLA_RunningAndDue(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 12, 7, h, 0, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		s      TicketSLA
		target SLATarget
		due    time.Time
		shown  time.Time
	}{
		{"first response runs first", TicketSLA{FirstResponseDue: at(13), ResolutionDue: at(18)}, SLAFirstResponse, at(13), at(13)},
		{"then the resolution", TicketSLA{FirstResponseDue: at(13), FirstResponseAt: at(10), ResolutionDue: at(18)}, SLAResolution, at(18), at(18)},
		{"a breached unmet first response shows, runs nothing", TicketSLA{FirstResponseDue: at(13), FirstResponseBreached: true, ResolutionDue: at(18)}, "", time.Time{}, at(13)},
		{"paused", TicketSLA{FirstResponseDue: at(13), FirstResponseAt: at(10), ResolutionDue: at(18), PausedAt: at(11)}, "", time.Time{}, time.Time{}},
		{"stopped", TicketSLA{FirstResponseDue: at(13), StoppedAt: at(11)}, "", time.Time{}, time.Time{}},
		{"resolution only", TicketSLA{ResolutionDue: at(18)}, SLAResolution, at(18), at(18)},
	}
	for _, tt := range tests {
		target, due := tt.s.Running()
		if target != tt.target || !due.Equal(tt.due) || !tt.s.DueAt().Equal(tt.shown) {
			t.Errorf("%s: Running = %q %s, DueAt = %s; want %q %s, %s", tt.name, target, due, tt.s.DueAt(), tt.target, tt.due, tt.shown)
		}
	}
}

func TestParseSLADetail(t *testing.T) {
	due := time.Date(2026, 12, 7, 10, 55, 0, 0, time.UTC)
	for _, target := range []SLATarget{SLAFirstResponse, SLAResolution} {
		got, at, ok := ParseSLADetail(FormatSLADetail(target, due))
		if !ok || got != target || !at.Equal(due) {
			t.Errorf("ParseSLADetail(FormatSLADetail(%s)) = %s %s %v", target, got, at, ok)
		}
	}
	if _, _, ok := ParseSLADetail("soon"); ok {
		t.Error("ParseSLADetail accepted a made-up detail")
	}
}

package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SLA is [sla]: business-hours calendars and the policies that count SLA targets in them
// (docs/operations.md, "SLA and business hours"). Calendars and policies are arrays of
// tables, written in the file only: the environment can set warn_before, not them.
type SLA struct {
	// WarnBefore is how much business time before a due time staff are warned.
	WarnBefore Duration      `toml:"warn_before"`
	Calendars  []SLACalendar `toml:"calendars"`
	Policies   []SLAPolicy   `toml:"policies"`
}

// SLACalendar is one [[sla.calendars]]: weekly open hours in a time zone, less holidays.
type SLACalendar struct {
	Name     string  `toml:"name"`
	Timezone string  `toml:"timezone"` // IANA, "Europe/Sofia"
	Hours    SLAWeek `toml:"hours"`
	// Holidays are closed dates, "2026-12-25", in the calendar's time zone.
	Holidays []string `toml:"holidays"`
}

// SLAWeek holds each day's open hours: "09:00-18:00", several ranges comma-separated
// ("09:00-12:00, 13:00-18:00"), "" for closed. 24:00 ends a range at midnight.
type SLAWeek struct {
	Monday    string `toml:"monday"`
	Tuesday   string `toml:"tuesday"`
	Wednesday string `toml:"wednesday"`
	Thursday  string `toml:"thursday"`
	Friday    string `toml:"friday"`
	Saturday  string `toml:"saturday"`
	Sunday    string `toml:"sunday"`
}

// Days returns the week's hours indexed by time.Weekday (Sunday first), with their keys.
func (w SLAWeek) Days() (hours [7]string, keys [7]string) {
	return [7]string{w.Sunday, w.Monday, w.Tuesday, w.Wednesday, w.Thursday, w.Friday, w.Saturday},
		[7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
}

// SLAPolicy is one [[sla.policies]]: the targets of the tickets of a topic and/or a
// department. A policy with neither is the default.
type SLAPolicy struct {
	// Topic is the topic's number, as in email.topic_by_address (0–5); unset: any topic.
	Topic *int `toml:"topic"`
	// Department is the department's ID (the panel's); 0: any department.
	Department int64  `toml:"department"`
	Calendar   string `toml:"calendar"`
	// FirstResponse and Resolution are business time; "0s" (or unset) is no such target.
	FirstResponse Duration `toml:"first_response"`
	Resolution    Duration `toml:"resolution"`
}

// Name identifies the policy in logs and in a ticket's SLA: "default", "topic=3",
// "department=2" or "topic=3,department=2".
func (p SLAPolicy) Name() string {
	var parts []string
	if p.Topic != nil {
		parts = append(parts, "topic="+strconv.Itoa(*p.Topic))
	}
	if p.Department != 0 {
		parts = append(parts, "department="+strconv.FormatInt(p.Department, 10))
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, ",")
}

// HourRange is one range of open hours as offsets from midnight's wall clock.
type HourRange struct {
	From, To time.Duration
}

// ParseHours reads a day's open hours: "" (closed) or comma-separated "HH:MM-HH:MM" ranges,
// each ending after it starts, in order and without overlap.
func ParseHours(s string) ([]HourRange, error) {
	var out []HourRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("%q is not a range such as 09:00-18:00", part)
		}
		f, err1 := clockTime(from)
		t, err2 := clockTime(to)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if t <= f {
			return nil, fmt.Errorf("%q ends before it starts", part)
		}
		if n := len(out); n > 0 && f < out[n-1].To {
			return nil, fmt.Errorf("%q overlaps or precedes the range before it", part)
		}
		out = append(out, HourRange{f, t})
	}
	return out, nil
}

// clockTime reads "HH:MM" (00:00 to 24:00).
func clockTime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day such as 09:00", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

func (s *SLA) normalize() {
	if len(s.Calendars) == 0 {
		s.Calendars = nil
	}
	if len(s.Policies) == 0 {
		s.Policies = nil
	}
	for i := range s.Calendars {
		if len(s.Calendars[i].Holidays) == 0 {
			s.Calendars[i].Holidays = nil
		}
	}
}

// validateSLA checks [sla]; keys of array entries count from 1: sla.calendars[1] is the
// first [[sla.calendars]].
func (c Config) validateSLA(p *problems) {
	s := c.SLA
	if s.WarnBefore.Duration < 0 {
		p.add("sla.warn_before", "must not be negative")
	}
	names := map[string]bool{}
	for i, cal := range s.Calendars {
		key := fmt.Sprintf("sla.calendars[%d]", i+1)
		switch name := strings.TrimSpace(cal.Name); {
		case name == "":
			p.add(key+".name", "must not be empty")
		case names[name]:
			p.add(key+".name", "%q names another calendar too", name)
		default:
			names[name] = true
		}
		if strings.TrimSpace(cal.Timezone) == "" {
			p.add(key+".timezone", `must be an IANA time zone such as "Europe/Sofia"`)
		} else if _, err := time.LoadLocation(cal.Timezone); err != nil {
			p.add(key+".timezone", `must be an IANA time zone such as "Europe/Sofia" (got %q)`, cal.Timezone)
		}
		open := false
		hours, keys := cal.Hours.Days()
		for d, h := range hours {
			r, err := ParseHours(h)
			if err != nil {
				p.add(key+".hours."+keys[d], "%v", err)
			}
			open = open || len(r) > 0
		}
		if !open {
			p.add(key+".hours", "must open on at least one day, e.g. monday = \"09:00-18:00\"")
		}
		for j, h := range cal.Holidays {
			if _, err := time.Parse(time.DateOnly, strings.TrimSpace(h)); err != nil {
				p.add(key+".holidays", "item %d must be a date such as 2026-12-25 (got %q)", j+1, h)
			}
		}
	}
	seen := map[string]int{}
	for i, pol := range s.Policies {
		key := fmt.Sprintf("sla.policies[%d]", i+1)
		if pol.Topic != nil && (*pol.Topic < 0 || *pol.Topic > MaxTopic) {
			p.add(key+".topic", "must be a topic number from 0 to %d", MaxTopic)
		}
		if pol.Department < 0 {
			p.add(key+".department", "must be a department ID (positive), or 0 for any")
		}
		if !names[strings.TrimSpace(pol.Calendar)] {
			p.add(key+".calendar", "must name one of the [[sla.calendars]] (got %q)", pol.Calendar)
		}
		if pol.FirstResponse.Duration < 0 {
			p.add(key+".first_response", "must not be negative")
		}
		if pol.Resolution.Duration < 0 {
			p.add(key+".resolution", "must not be negative")
		}
		if pol.FirstResponse.Duration <= 0 && pol.Resolution.Duration <= 0 {
			p.add(key, "needs first_response or resolution (or both)")
		}
		if j, dup := seen[pol.Name()]; dup {
			p.add(key, "applies to the same tickets as sla.policies[%d] (%s)", j, pol.Name())
		} else {
			seen[pol.Name()] = i + 1
		}
	}
}

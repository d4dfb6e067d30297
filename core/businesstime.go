package core

import (
	"time"
)

// Business time: the hours a desk works by a calendar (weekly hours in a time zone, less its
// holidays). SLA targets are counted in it, so a ticket opened on Friday evening is not late
// on Saturday morning. Business time is real elapsed time inside the open hours: an hour of a
// span that a DST change shortens is not counted twice, nor one that it lengthens once.

// Span is one range of open hours of a day, as offsets from the local midnight's wall clock
// (09:00 is 9h). To may be 24h: open until midnight.
type Span struct {
	From, To time.Duration
}

// Calendar is the working time of a desk.
type Calendar struct {
	Name     string
	Location *time.Location
	// Week holds the open hours of each day, indexed by time.Weekday; nil: closed.
	Week [7][]Span
	// Holidays are closed days, as "2006-01-02" in Location.
	Holidays map[string]bool
}

// maxBusinessDays bounds a walk over a calendar: a calendar open a few minutes a year would
// otherwise make an addition run for ages. No target is that far away.
const maxBusinessDays = 3 * 366

func (c *Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// openIntervals returns the open intervals of one local day as instants (none on a holiday).
func (c *Calendar) openIntervals(y int, m time.Month, d int) [][2]time.Time {
	loc := c.loc()
	noon := time.Date(y, m, d, 12, 0, 0, 0, loc)
	if c.Holidays[noon.Format(time.DateOnly)] {
		return nil
	}
	var out [][2]time.Time
	for _, s := range c.Week[noon.Weekday()] {
		start := wallTime(y, m, d, s.From, loc)
		end := wallTime(y, m, d, s.To, loc)
		if end.After(start) {
			out = append(out, [2]time.Time{start, end})
		}
	}
	return out
}

// wallTime is the instant of wall-clock offset off on a local day. A wall time that a DST
// change skips lands on the instant Go's time.Date normalises it to.
func wallTime(y int, m time.Month, d int, off time.Duration, loc *time.Location) time.Time {
	h := int(off / time.Hour)
	min := int((off % time.Hour) / time.Minute)
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

// IsOpen reports whether the calendar has any open hours at all.
func (c *Calendar) IsOpen() bool {
	for _, day := range c.Week {
		for _, s := range day {
			if s.To > s.From {
				return true
			}
		}
	}
	return false
}

// AddBusiness returns the instant at which d of business time has passed since t. With
// d <= 0 it returns t. When the calendar never opens within maxBusinessDays it returns the
// zero time: no due time can be given.
func (c *Calendar) AddBusiness(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	lt := t.In(c.loc())
	y, m, day := lt.Date()
	for i := 0; i < maxBusinessDays; i++ {
		for _, iv := range c.openIntervals(y, m, day+i) {
			if !iv[1].After(t) {
				continue
			}
			start := iv[0]
			if start.Before(t) {
				start = t
			}
			avail := iv[1].Sub(start)
			if d <= avail {
				return start.Add(d).In(t.Location())
			}
			d -= avail
		}
	}
	return time.Time{}
}

// BusinessBetween returns the business time from a to b (0 when b is not after a).
func (c *Calendar) BusinessBetween(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	la := a.In(c.loc())
	y, m, day := la.Date()
	var sum time.Duration
	for i := 0; i < maxBusinessDays; i++ {
		if time.Date(y, m, day+i, 0, 0, 0, 0, c.loc()).After(b) {
			break
		}
		for _, iv := range c.openIntervals(y, m, day+i) {
			start, end := iv[0], iv[1]
			if start.Before(a) {
				start = a
			}
			if end.After(b) {
				end = b
			}
			if end.After(start) {
				sum += end.Sub(start)
			}
		}
	}
	return sum
}

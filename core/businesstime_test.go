package core

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// officeHours is 09:00–18:00 Monday to Friday in loc.
func officeHours(loc *time.Location, holidays ...string) *Calendar {
	c := &Calendar{Name: "office", Location: loc, Holidays: map[string]bool{}}
	for d := time.Monday; d <= time.Friday; d++ {
		c.Week[d] = []Span{{9 * time.Hour, 18 * time.Hour}}
	}
	for _, h := range holidays {
		c.Holidays[h] = true
	}
	return c
}

// allHours is open around the clock, every day.
func allHours(loc *time.Location) *Calendar {
	c := &Calendar{Name: "24x7", Location: loc}
	for d := range c.Week {
		c.Week[d] = []Span{{0, 24 * time.Hour}}
	}
	return c
}

func TestCalendar_AddBusiness(t *testing.T) {
	sofia := mustLoc(t, "Europe/Sofia")
	ny := mustLoc(t, "America/New_York")
	split := officeHours(sofia)
	for d := time.Monday; d <= time.Friday; d++ {
		split.Week[d] = []Span{{9 * time.Hour, 12 * time.Hour}, {13 * time.Hour, 18 * time.Hour}}
	}
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	tests := []struct {
		name string
		cal  *Calendar
		from time.Time
		add  time.Duration
		want time.Time
	}{
		{"Friday 17:55 plus 4h is Monday 12:55", officeHours(sofia), at(sofia, 2026, 12, 4, 17, 55), 4 * time.Hour, at(sofia, 2026, 12, 7, 12, 55)},
		{"a Monday holiday moves it to Tuesday", officeHours(sofia, "2026-12-07"), at(sofia, 2026, 12, 4, 17, 55), 4 * time.Hour, at(sofia, 2026, 12, 8, 12, 55)},
		{"within the day", officeHours(sofia), at(sofia, 2026, 12, 2, 10, 0), 2 * time.Hour, at(sofia, 2026, 12, 2, 12, 0)},
		{"ending exactly at closing", officeHours(sofia), at(sofia, 2026, 12, 2, 10, 0), 8 * time.Hour, at(sofia, 2026, 12, 2, 18, 0)},
		{"before opening starts at opening", officeHours(sofia), at(sofia, 2026, 12, 2, 6, 0), time.Hour, at(sofia, 2026, 12, 2, 10, 0)},
		{"on Saturday starts on Monday", officeHours(sofia), at(sofia, 2026, 12, 5, 11, 0), 30 * time.Minute, at(sofia, 2026, 12, 7, 9, 30)},
		{"a lunch break is skipped", split, at(sofia, 2026, 12, 2, 11, 0), 2 * time.Hour, at(sofia, 2026, 12, 2, 14, 0)},
		{"several days", officeHours(sofia), at(sofia, 2026, 12, 2, 9, 0), 27 * time.Hour, at(sofia, 2026, 12, 4, 18, 0)},
		{"zero is the instant itself", officeHours(sofia), at(sofia, 2026, 12, 5, 11, 0), 0, at(sofia, 2026, 12, 5, 11, 0)},
		// Sofia springs forward on 29 March 2026 (03:00 → 04:00): that Sunday has 23 hours.
		{"spring forward: a 24h calendar counts real time", allHours(sofia), at(sofia, 2026, 3, 28, 12, 0), 24 * time.Hour, at(sofia, 2026, 3, 29, 13, 0)},
		// and falls back on 25 October 2026 (04:00 → 03:00): that Sunday has 25 hours.
		{"fall back: a 24h calendar counts real time", allHours(sofia), at(sofia, 2026, 10, 24, 12, 0), 24 * time.Hour, at(sofia, 2026, 10, 25, 11, 0)},
		{"office hours keep their wall clock across DST", officeHours(sofia), at(sofia, 2026, 3, 27, 17, 0), 2 * time.Hour, at(sofia, 2026, 3, 30, 10, 0)},
		{"office hours across the fall-back weekend", officeHours(sofia), at(sofia, 2026, 10, 23, 17, 0), 2 * time.Hour, at(sofia, 2026, 10, 26, 10, 0)},
		// The same UTC instant is Friday evening in New York: the calendar's zone decides.
		{"the calendar's time zone counts, not the instant's", officeHours(ny), time.Date(2026, 12, 4, 22, 55, 0, 0, time.UTC), 4 * time.Hour, at(ny, 2026, 12, 7, 12, 55)},
		{"an instant in UTC in a Sofia calendar", officeHours(sofia), time.Date(2026, 12, 4, 15, 55, 0, 0, time.UTC), 4 * time.Hour, at(sofia, 2026, 12, 7, 12, 55)},
		{"a calendar that never opens gives no due time", &Calendar{Location: sofia}, at(sofia, 2026, 12, 2, 10, 0), time.Hour, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.AddBusiness(tt.from, tt.add)
			if !got.Equal(tt.want) {
				t.Errorf("AddBusiness(%s, %s) = %s, want %s", tt.from, tt.add, got, tt.want)
			}
		})
	}
}

func TestCalendar_BusinessBetween(t *testing.T) {
	sofia := mustLoc(t, "Europe/Sofia")
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, sofia) }
	tests := []struct {
		name string
		cal  *Calendar
		a, b time.Time
		want time.Duration
	}{
		{"Friday 17:55 to Monday 12:55", officeHours(sofia), at(2026, 12, 4, 17, 55), at(2026, 12, 7, 12, 55), 4 * time.Hour},
		{"a holiday counts nothing", officeHours(sofia, "2026-12-07"), at(2026, 12, 4, 17, 55), at(2026, 12, 8, 12, 55), 4 * time.Hour},
		{"a weekend counts nothing", officeHours(sofia), at(2026, 12, 5, 0, 0), at(2026, 12, 7, 0, 0), 0},
		{"backwards is zero", officeHours(sofia), at(2026, 12, 7, 12, 0), at(2026, 12, 7, 10, 0), 0},
		{"a working week", officeHours(sofia), at(2026, 11, 30, 0, 0), at(2026, 12, 7, 0, 0), 45 * time.Hour},
		{"spring-forward weekend has 47 hours", allHours(sofia), at(2026, 3, 28, 0, 0), at(2026, 3, 30, 0, 0), 47 * time.Hour},
		{"fall-back weekend has 49 hours", allHours(sofia), at(2026, 10, 24, 0, 0), at(2026, 10, 26, 0, 0), 49 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.BusinessBetween(tt.a, tt.b); got != tt.want {
				t.Errorf("BusinessBetween(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// Adding what lies between two instants gets back to the later one, wherever they fall.
func TestCalendar_AddInvertsBetween(t *testing.T) {
	sofia := mustLoc(t, "Europe/Sofia")
	c := officeHours(sofia, "2026-12-25")
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, sofia)
	for h := 0; h < 24*40; h += 7 {
		b := start.Add(time.Duration(h) * time.Hour)
		d := c.BusinessBetween(start, b)
		if d == 0 {
			continue
		}
		got := c.AddBusiness(start, d)
		if c.BusinessBetween(got, b) != 0 || got.After(b) {
			t.Errorf("AddBusiness(start, BusinessBetween(start, %s) = %s) = %s", b, d, got)
		}
	}
}

package config

import (
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("30s", "1m30s") in TOML and
// in the environment, optionally led by whole days ("14d", "1d12h"): the ticket workflow's
// waits are counted in days.
type Duration struct {
	time.Duration
}

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return d.Duration }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := parseDuration(strings.TrimSpace(string(text)))
	if err != nil {
		return errBadDuration{}
	}
	d.Duration = v
	return nil
}

// parseDuration is time.ParseDuration with whole days in front: "14d", "1d12h". A day is
// 24 hours, not a calendar day.
func parseDuration(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	const maxDays = 100 * 365 // far beyond any wait, far below time.Duration's range
	n, err := strconv.ParseUint(days, 10, 32)
	if err != nil || n > maxDays {
		return 0, errBadDuration{}
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r < 0 {
		return 0, errBadDuration{}
	}
	return d + r, nil
}

// errBadDuration is UnmarshalText's error. It carries no value, and lets decodeTOML recognise
// the one decoder error that comes without a key (a number or boolean given for a duration).
type errBadDuration struct{}

func (errBadDuration) Error() string { return "must be " + durationDesc }

const durationDesc = `a duration such as "30s", "5m", "1h30m" or "14d"`

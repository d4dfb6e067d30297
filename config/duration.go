package config

import (
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("30s", "1m30s") in TOML and
// in the environment.
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
	v, err := time.ParseDuration(strings.TrimSpace(string(text)))
	if err != nil {
		return errBadDuration{}
	}
	d.Duration = v
	return nil
}

// errBadDuration is UnmarshalText's error. It carries no value, and lets decodeTOML recognise
// the one decoder error that comes without a key (a number or boolean given for a duration).
type errBadDuration struct{}

func (errBadDuration) Error() string { return "must be " + durationDesc }

const durationDesc = `a duration such as "30s", "5m" or "1h30m"`

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDuration_Days(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"14d", 14 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"0d", 0, true},
		{"336h", 336 * time.Hour, true},
		{"d", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"1d-1h", 0, false},
		{"1dx", 0, false},
		{"99999999d", 0, false},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if (err == nil) != tt.ok || (tt.ok && d.D() != tt.want) {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, ok %v", tt.in, d.D(), err, tt.want, tt.ok)
		}
	}
}

func TestLoad_AutoClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "helpdeskd.toml")
	if err := os.WriteFile(path, []byte("[tickets]\nauto_close_after = \"14d\"\nauto_close_reminder = \"3d\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if c.Tickets.AutoCloseAfter.D() != 14*24*time.Hour || c.Tickets.AutoCloseReminder.D() != 3*24*time.Hour {
		t.Errorf("tickets = %+v", c.Tickets)
	}
	c, err = Load(path, []string{"HELPDESKD_TICKETS_AUTO_CLOSE_AFTER=7d", "HELPDESKD_TICKETS_AUTO_CLOSE_REMINDER=36h"})
	if err != nil {
		t.Fatalf("Load with env = %v", err)
	}
	if c.Tickets.AutoCloseAfter.D() != 7*24*time.Hour || c.Tickets.AutoCloseReminder.D() != 36*time.Hour {
		t.Errorf("tickets from env = %+v", c.Tickets)
	}
	if d := Default().Tickets; d.AutoCloseAfter.D() != 0 || d.AutoCloseReminder.D() != 0 {
		t.Errorf("auto-close is on by default: %+v", d)
	}
}

func TestValidate_AutoClose(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name            string
		after, reminder time.Duration
		want            string // "" = valid
	}{
		{"off", 0, 0, ""},
		{"on without reminder", 14 * day, 0, ""},
		{"on with reminder", 14 * day, 3 * day, ""},
		{"negative after", -day, 0, "config: tickets.auto_close_after: must not be negative"},
		{"negative reminder", 14 * day, -day, "config: tickets.auto_close_reminder: must not be negative"},
		{"reminder when off", 0, 3 * day, "config: tickets.auto_close_reminder: needs tickets.auto_close_after"},
		{"reminder equal to after", 3 * day, 3 * day, "config: tickets.auto_close_reminder: must be less than tickets.auto_close_after"},
		{"reminder after the close", 3 * day, 4 * day, "config: tickets.auto_close_reminder: must be less than tickets.auto_close_after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Tickets.AutoCloseAfter, c.Tickets.AutoCloseReminder = Duration{tt.after}, Duration{tt.reminder}
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

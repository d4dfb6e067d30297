package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad_Retention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.toml")
	if err := os.WriteFile(path, []byte("[retention]\nraw_mail_days = 30\nrejected_mail_days = 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil || c.Retention.RawMailDays != 30 || c.Retention.RejectedMailDays != 7 {
		t.Fatalf("Load = %+v, %v", c.Retention, err)
	}
	c, err = Load(path, []string{"HELPDESKD_RETENTION_RAW_MAIL_DAYS=90", "HELPDESKD_RETENTION_REJECTED_MAIL_DAYS=0"})
	if err != nil || c.Retention.RawMailDays != 90 || c.Retention.RejectedMailDays != 0 {
		t.Fatalf("Load with env = %+v, %v", c.Retention, err)
	}
	if d := Default().Retention; d != (Retention{}) {
		t.Errorf("default retention %+v, want forever (0)", d)
	}
}

func TestValidate_Retention(t *testing.T) {
	tests := []struct {
		name          string
		raw, rejected int
		want          string
	}{
		{"off", 0, 0, ""},
		{"both", 30, 7, ""},
		{"a century", maxRetentionDays, 1, ""},
		{"negative raw", -1, 0, "config: retention.raw_mail_days: must be from 0"},
		{"negative rejected", 0, -5, "config: retention.rejected_mail_days: must be from 0"},
		{"past a century", maxRetentionDays + 1, 0, "config: retention.raw_mail_days: must be from 0 (keep forever) to 36500 days (got 36501)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Retention = Retention{RawMailDays: tt.raw, RejectedMailDays: tt.rejected}
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

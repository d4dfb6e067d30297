package core

import (
	"testing"
	"time"
)

func TestQuietFor_SaysDaysWhenWhole(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{24 * time.Hour, "1 day"},
		{14 * 24 * time.Hour, "14 days"},
		{36 * time.Hour, "36h0m0s"},
		{90 * time.Minute, "1h30m0s"},
	} {
		if got := quietFor(tt.d); got != tt.want {
			t.Errorf("quietFor(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

package core

import (
	"errors"
	"fmt"
	"testing"
)

func TestSafeFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`..\..\windows\system32\cmd.exe`, "cmd.exe"},
		{"/abs/path/x.txt", "x.txt"},
		{"..", "file"},
		{".hidden", "hidden"},
		{"", "file"},
		{"a\r\nb.txt", "ab.txt"},
		{`quo"te.txt`, "quote.txt"},
		{"отчёт.pdf", "отчёт.pdf"},
		{"x\x00y", "xy"},
	}
	for _, tt := range tests {
		if got := SafeFileName(tt.in); got != tt.want {
			t.Errorf("SafeFileName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := make([]rune, 300)
	for i := range long {
		long[i] = 'ж'
	}
	if got := []rune(SafeFileName(string(long))); len(got) != MaxFileNameChars {
		t.Errorf("long name cut to %d runes, want %d", len(got), MaxFileNameChars)
	}
}

func TestErrorCode(t *testing.T) {
	tests := []struct {
		err     error
		code    string
		message string
	}{
		{nil, "", ""},
		{Errorf(ENOTFOUND, "Ticket not found."), ENOTFOUND, "Ticket not found."},
		{fmt.Errorf("wrapped: %w", Errorf(ECONFLICT, "locked")), ECONFLICT, "locked"},
		{errors.New("disk exploded at /var/lib/x"), EINTERNAL, "Internal error."},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.err); got != tt.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.code)
		}
		if got := ErrorMessage(tt.err); got != tt.message {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.message)
		}
	}
}

func TestEnumLabels(t *testing.T) {
	if TopicSSL.String() != "SSL" || TopicSSL.Label() != "SSL / Certificates" {
		t.Errorf("topic 4: %q / %q", TopicSSL.String(), TopicSSL.Label())
	}
	if StatusInProgress.Label() != "In Progress" || int(StatusClosed) != 3 || int(TopicPerformance) != 5 {
		t.Error("enum values or labels drifted from the wire contract")
	}
	if Topic(6).Valid() || Topic(-1).Valid() || Status(4).Valid() {
		t.Error("out-of-range enum reported valid")
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{900: "900 bytes", 1024: "1 KB", 10 << 20: "10 MB", 11_534_336: "11 MB", 1_572_864: "1.5 MB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

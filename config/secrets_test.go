package config

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A *_file secret is read whatever its mode; one that group or others may read is named
// in a warning (with its key and mode, never its content).
func TestWarnings_SecretFilesReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	tests := []struct {
		name string
		mode os.FileMode
		warn bool
	}{
		{"owner only", 0o600, false},
		{"owner read-only", 0o400, false},
		{"group readable", 0o640, true},
		{"others readable", 0o604, true},
		{"everyone", 0o644, true},
		{"group writable only", 0o620, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			token := filepath.Join(dir, "telegram.token")
			if err := os.WriteFile(token, []byte("123:secret-token-value\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(token, tt.mode); err != nil {
				t.Fatal(err)
			}
			c, err := Load(writeTOML(t, "[telegram]\nenabled = true\ntoken_file = \""+token+"\"\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Telegram.Token != "123:secret-token-value" {
				t.Fatalf("token not read from a file of mode %v", tt.mode)
			}
			w := c.Warnings()
			if got := len(w) == 1; got != tt.warn || len(w) > 1 {
				t.Fatalf("mode %v: warnings %v, want a warning: %v", tt.mode, w, tt.warn)
			}
			if tt.warn {
				s := w[0].String()
				if w[0].Key != "telegram.token_file" || !strings.Contains(s, token) || !strings.Contains(s, fmt.Sprintf("mode %04o", tt.mode)) {
					t.Errorf("warning %q", s)
				}
				if strings.Contains(s, "secret-token-value") {
					t.Errorf("warning shows the secret: %q", s)
				}
			}
		})
	}
}

// Every *_file key is looked at, and an inline secret is nothing to warn about.
func TestWarnings_EveryFileKey(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	dir := t.TempDir()
	var toml strings.Builder
	toml.WriteString("email.enabled = true\nemail.imap.host = \"imap.example.com\"\nemail.imap.username = \"support\"\n" +
		"email.smtp.host = \"smtp.example.com\"\ntelegram.enabled = true\n")
	for _, key := range []string{"email.secret_file", "email.imap.password_file", "email.smtp.password_file", "telegram.token_file"} {
		path := filepath.Join(dir, key)
		if err := os.WriteFile(path, []byte("0123456789abcdef-"+key), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, 0o644)
		toml.WriteString(key + " = \"" + path + "\"\n")
	}
	c, err := Load(writeTOML(t, toml.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 4 {
		t.Errorf("warnings %v, want one per *_file key", w)
	}
	c, err = Load(writeTOML(t, "[telegram]\nenabled = true\ntoken = \"123:inline\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("warnings %v for an inline secret", w)
	}
}

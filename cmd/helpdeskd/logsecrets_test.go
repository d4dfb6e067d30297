package main

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// No secret may appear in a log line: every line the daemon tests log (through testWriter,
// or a child daemon's output) is checked against the secrets the test registered — the
// configuration's (bot token, reply secret, IMAP/SMTP passwords: startDesk and startDaemon
// register them) and the API keys it created — and against the shape of an API key; a
// match fails the test, showing the line with the secret blanked out.

// minSecretLen keeps short test values ("x") from matching ordinary words.
const minSecretLen = 6

// testLogs holds, per test, the registered secrets and the lines logged so far.
var testLogs = struct {
	sync.Mutex
	byTest map[testing.TB]*testLogState
}{byTest: map[testing.TB]*testLogState{}}

type testLogState struct {
	secrets []string
	lines   []string
}

// registerSecrets adds secrets that no log line of t may contain. The first call also
// starts keeping t's log lines (loggedLines).
func registerSecrets(t testing.TB, secrets ...string) {
	t.Helper()
	testLogs.Lock()
	defer testLogs.Unlock()
	s, ok := testLogs.byTest[t]
	if !ok {
		s = &testLogState{}
		testLogs.byTest[t] = s
		t.Cleanup(func() {
			testLogs.Lock()
			delete(testLogs.byTest, t)
			testLogs.Unlock()
		})
	}
	for _, secret := range secrets {
		if len(secret) >= minSecretLen {
			s.secrets = append(s.secrets, secret)
		}
	}
}

// configSecrets returns the values of every key tagged secret in cfg.
func configSecrets(cfg config.Config) []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f, fv := v.Type().Field(i), v.Field(i)
			switch {
			case fv.Kind() == reflect.Struct:
				walk(fv)
			case f.Tag.Get("secret") == "true" && fv.Kind() == reflect.String && fv.String() != "":
				out = append(out, fv.String())
			}
		}
	}
	walk(reflect.ValueOf(cfg))
	return out
}

// apiKeyPattern is a whole API key (core.APIKeyPrefix and 32 random bytes, base64url):
// found in any line of any test, registered or not.
var apiKeyPattern = regexp.MustCompile(regexp.QuoteMeta(core.APIKeyPrefix) + `[A-Za-z0-9_-]{43}`)

// checkLogLine records a line t's daemon logged and fails t if it holds a secret.
func checkLogLine(t testing.TB, line string) {
	testLogs.Lock()
	s, ok := testLogs.byTest[t]
	leaked := apiKeyPattern.FindAllString(line, -1)
	if ok {
		s.lines = append(s.lines, line)
		for _, secret := range s.secrets {
			if strings.Contains(line, secret) {
				leaked = append(leaked, secret)
			}
		}
	}
	testLogs.Unlock()
	for _, secret := range leaked {
		t.Errorf("a log line shows a secret: %s", strings.ReplaceAll(line, secret, "<SECRET>"))
	}
}

// checkLogOutput checks every line of a child daemon's output.
func checkLogOutput(t testing.TB, out []byte) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		checkLogLine(t, sc.Text())
	}
}

// loggedLines returns the lines t's daemon has logged since its first registerSecrets.
func loggedLines(t testing.TB) []string {
	testLogs.Lock()
	defer testLogs.Unlock()
	if s, ok := testLogs.byTest[t]; ok {
		return append([]string(nil), s.lines...)
	}
	return nil
}

// The check itself: a registered secret in a line fails the test; other lines do not.
func TestLogSecrets_CheckFindsARegisteredSecret(t *testing.T) {
	ft := &fakeTB{TB: t}
	registerSecrets(ft, "hdk_verysecretkey", "x")
	checkLogLine(ft, `level=INFO msg="http request" path=/api/Ticket`)
	checkLogLine(ft, `level=INFO msg="x marks the spot"`)
	if ft.failed != "" {
		t.Fatalf("clean lines failed the test: %s", ft.failed)
	}
	checkLogLine(ft, `level=WARN msg=oops key=hdk_verysecretkey`)
	if !strings.Contains(ft.failed, "key=<SECRET>") || strings.Contains(ft.failed, "verysecret") {
		t.Fatalf("a leaked key was not reported (or was shown): %q", ft.failed)
	}
	ft.failed = ""
	checkLogLine(ft, "level=ERROR msg=x key=hdk_"+strings.Repeat("A", 43))
	if !strings.Contains(ft.failed, "<SECRET>") {
		t.Fatalf("an unregistered API key was not reported: %q", ft.failed)
	}
	if got := len(loggedLines(ft)); got != 4 {
		t.Errorf("%d lines kept, want 4", got)
	}
	cfg := config.Default()
	cfg.Telegram.Token, cfg.Email.Secret, cfg.Email.IMAP.Password = "123:tok", "reply-secret", "imap-pass"
	if got := configSecrets(cfg); len(got) != 3 {
		t.Errorf("configSecrets = %q, want the token, the reply secret and the IMAP password", got)
	}
}

// fakeTB records Errorf instead of failing.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.failed += strings.TrimSpace(strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " "))
}

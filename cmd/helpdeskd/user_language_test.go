package main

import (
	"strings"
	"testing"
)

// cliStep is one CLI call and what it must give: its exit code and a piece of its output.
type cliStep struct {
	args     []string
	code     int
	contains string
}

// runCLISteps runs the steps in order against the in-process CLI.
func runCLISteps(t *testing.T, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		code, out, errOut := runCLI(t, nil, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.contains) {
			t.Errorf("%v: exit %d (want %d), out %q, err %q (want %q)", s.args, code, s.code, out, errOut, s.contains)
		}
	}
}

func TestCLI_UserPutLanguage(t *testing.T) {
	cfg := writeConfig(t, t.TempDir(), "127.0.0.1:0")
	runCLISteps(t, []cliStep{
		{[]string{"admin", "account", "put", "-config", cfg, "--id", "1", "--name", "Acme"}, 0, `account 1 "Acme"`},
		{[]string{"admin", "user", "put", "-config", cfg, "--id", "7", "--email", "ana@acme.test", "--name", "Ana", "--account", "1", "--language", "ES-mx"}, 0, "language es-MX"},
		{[]string{"admin", "user", "put", "-config", cfg, "--id", "7", "--email", "ana@acme.test", "--name", "Ana", "--account", "1", "--language", "Spanish"}, 1, "language: must be a language tag"},
	})
}

package main

import (
	"strings"
	"testing"
)

func TestCLI_UserPutLanguage(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0")
	steps := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"admin", "account", "put", "-config", cfg, "--id", "1", "--name", "Acme"}, 0, `account 1 "Acme"`},
		{[]string{"admin", "user", "put", "-config", cfg, "--id", "7", "--email", "ana@acme.test", "--name", "Ana", "--account", "1", "--language", "ES-mx"}, 0, "language es-MX"},
		{[]string{"admin", "user", "put", "-config", cfg, "--id", "7", "--email", "ana@acme.test", "--name", "Ana", "--account", "1", "--language", "Spanish"}, 1, "language: must be a language tag"},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(t, nil, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.contains) {
			t.Errorf("%v: exit %d (want %d), out %q, err %q (want %q)", s.args, code, s.code, out, errOut, s.contains)
		}
	}
}

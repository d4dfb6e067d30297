package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// The version names the module version when there is one and the commit a checkout was
// built from, so that two builds can be told apart.
func TestVersionOf(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build information", nil, "dev"},
		{"go run without VCS", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0 (go1.26.8)"},
		{"built in a clean checkout", &debug.BuildInfo{GoVersion: "go1.26.8",
			Main:     debug.Module{Version: "v0.0.0-20261201180000-1de6987abcde"},
			Settings: vcs("vcs", "git", "vcs.revision", "1de6987abcdef0123456789abcdef0123456789a", "vcs.time", "2026-12-01T18:00:00Z", "vcs.modified", "false")},
			"v0.0.0-20261201180000-1de6987abcde (commit 1de6987abcde, 2026-12-01T18:00:00Z, go1.26.8)"},
		{"built with uncommitted changes", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "1de6987abcdef0123456789abcdef0123456789a", "vcs.time", "2026-12-01T18:00:00Z", "vcs.modified", "true")},
			"dev (commit 1de6987abcde, 2026-12-01T18:00:00Z, modified)"},
		{"short revision", &debug.BuildInfo{Settings: vcs("vcs.revision", "abc")}, "dev (commit abc)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionOf(tt.bi); got != tt.want {
				t.Errorf("versionOf = %q, want %q", got, tt.want)
			}
		})
	}
}

// helpdeskd version prints what the running binary recorded, not a fixed word.
func TestCLI_VersionFromBuildInfo(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("the test binary carries no build information")
	}
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || out != "helpdeskd "+versionOf(bi)+"\n" {
		t.Errorf("version: exit %d, %q; want %q", code, out, "helpdeskd "+versionOf(bi))
	}
	if !strings.Contains(out, bi.GoVersion) {
		t.Errorf("version %q does not name the Go version %s", out, bi.GoVersion)
	}
}

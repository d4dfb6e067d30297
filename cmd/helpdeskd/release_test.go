package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/config"
)

// The release build (the Dockerfile's, docs/operations.md's) is a static binary: no ELF
// interpreter and no shared library, so it runs on an empty base image.
func TestReleaseBuild_IsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; run without -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("checks an ELF binary")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "helpdeskd")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary names an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(out), "helpdeskd ") {
		t.Errorf("version: %q, %v", out, err)
	}
}

// The Dockerfile builds what the docs say, runs as a numeric non-root user on scratch, and
// exposes the port its configuration listens on, with the database on its volume.
func TestDockerfile_MatchesItsConfig(t *testing.T) {
	body, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"CGO_ENABLED=0 go build -trimpath -ldflags=",
		"\nFROM scratch\n",
		"\nUSER 65532:65532\n",
		"\nVOLUME [\"/data\"]\n",
		"\nEXPOSE 8080\n",
		"COPY deploy/docker.toml /etc/helpdeskd/helpdeskd.toml",
		"\"health\", \"-config\", \"/etc/helpdeskd/helpdeskd.toml\"",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	c, err := config.Load("../../deploy/docker.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != ":8080" || c.Database.Path != "/data/helpdeskd.db" || c.Database.AttachmentsPath() != "/data/attachments" {
		t.Errorf("deploy/docker.toml: listen %q, database %q, attachments %q", c.Server.Listen, c.Database.Path, c.Database.AttachmentsPath())
	}
}

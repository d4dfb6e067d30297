package apiclient

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestClientIsGenerated checks that client.gen.go is what oapi-codegen (the tool directive
// in go.mod, run by go tool) makes of openapi.json now: nobody edited it by hand, and it
// was regenerated after the last change to the document or the configuration. The tool
// runs offline, from the module cache; without it the test skips.
func TestClientIsGenerated(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command: cannot run oapi-codegen")
	}
	// GOPROXY=off: the tool comes from the module cache or not at all, never downloaded.
	env := append(os.Environ(), "GOPROXY=off")
	var stderr bytes.Buffer
	tool := exec.CommandContext(t.Context(), goBin, "tool", "-n", "oapi-codegen")
	tool.Env, tool.Stderr = env, &stderr
	bin, err := tool.Output()
	if err != nil {
		t.Skipf("oapi-codegen is not available offline (go mod download fetches it): %v\n%s", err, stderr.String())
	}
	stderr.Reset()
	gen := exec.CommandContext(t.Context(), strings.TrimSpace(string(bin)), "-config", "oapi-codegen.yaml", "openapi.json")
	gen.Env, gen.Stderr = env, &stderr
	want, err := gen.Output()
	if err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, stderr.String())
	}
	got, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("adapters/httpapi/apiclient/client.gen.go is not what oapi-codegen makes of openapi.json: " +
			"run go generate ./adapters/httpapi/apiclient and commit the result")
	}
}

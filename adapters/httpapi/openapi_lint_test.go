package httpapi

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// openAPILinters are the command-line checkers the document must pass, as installed by
// ./scripts/test.sh into .cache/node (npm packages @redocly/cli and @apidevtools/swagger-cli).
var openAPILinters = []struct {
	bin  string
	args []string
}{
	{"redocly", []string{"lint", "--format=stylish"}},
	{"swagger-cli", []string{"validate"}},
}

// TestOpenAPI_PassesLinters writes the served document to a file and runs redocly's lint and
// swagger-cli's validation on it: what clients' code generators read must be a valid
// OpenAPI 3 document, not only valid JSON.
func TestOpenAPI_PassesLinters(t *testing.T) {
	bin, err := filepath.Abs(filepath.Join("..", "..", ".cache", "node", "node_modules", ".bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: ./scripts/test.sh installs node, npm and the OpenAPI linters")
	}
	raw, err := json.MarshalIndent(openAPIDocument(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(doc, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, l := range openAPILinters {
		t.Run(l.bin, func(t *testing.T) {
			cmd := filepath.Join(bin, l.bin)
			if _, err := os.Stat(cmd); err != nil {
				t.Skipf("%s is not installed in .cache/node: ./scripts/test.sh installs it", l.bin)
			}
			var out bytes.Buffer
			c := exec.CommandContext(t.Context(), cmd, append(l.args, doc)...)
			c.Dir = filepath.Dir(doc) // no redocly.yaml of a developer's own is picked up
			c.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
			c.Stdout, c.Stderr = &out, &out
			c.WaitDelay = 10 * time.Second
			if err := c.Run(); err != nil {
				t.Fatalf("%s %v: %v\n%s", l.bin, l.args, err, out.String())
			}
		})
	}
}

package webhook_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/webhook"
)

// snippet returns the fenced block of lang that follows the line containing after in
// docs/webhooks.md.
func snippet(t *testing.T, after, lang string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), after)
	if !ok {
		t.Fatalf("docs/webhooks.md has no %q", after)
	}
	_, rest, ok = strings.Cut(rest, "```"+lang+"\n")
	if !ok {
		t.Fatalf("no %s block after %q", lang, after)
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// TestDocs_ReceiversVerify runs the documentation's shell and Go receivers on a delivery
// this package signed, and on the same delivery tampered with.
func TestDocs_ReceiversVerify(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	id, ts := webhook.MessageID(7), time.Now().Unix()
	body := []byte(`{"type":"ticket.created","timestamp":"2026-12-01T10:00:00Z","data":{"ticket":null}}`)
	sig, err := webhook.Sign(secret, id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	t.Run("shell", func(t *testing.T) {
		for _, tool := range []string{"bash", "openssl", "base64", "od"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s is not installed", tool)
			}
		}
		script := snippet(t, "In shell", "sh")
		for _, c := range []struct {
			body, want string
		}{{string(body), "valid"}, {strings.Replace(string(body), "ticket.created", "ticket.assigned", 1), "INVALID"}} {
			if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(c.body), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "-c", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SECRET="+secret, "WEBHOOK_ID="+id, "WEBHOOK_TIMESTAMP="+itoa(ts), "WEBHOOK_SIGNATURE="+sig)
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != c.want {
				t.Errorf("shell receiver: %q, %v; want %s", out, err, c.want)
			}
		}
	})

	t.Run("go", func(t *testing.T) {
		if testing.Short() {
			t.Skip("compiles a program; run without -short")
		}
		src := `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

` + snippet(t, "In Go", "go") + `
func main() {
	h := http.Header{}
	h.Set("webhook-id", os.Args[1])
	h.Set("webhook-timestamp", os.Args[2])
	h.Set("webhook-signature", os.Args[3])
	fmt.Println(verify(os.Args[4], h, []byte(os.Args[5])))
}
`
		file := filepath.Join(dir, "receiver.go")
		if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			body, want string
		}{{string(body), "true"}, {string(body) + " ", "false"}} {
			out, err := exec.Command("go", "run", file, id, itoa(ts), sig, secret, c.body).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != c.want {
				t.Errorf("Go receiver: %s, %v; want %s", out, err, c.want)
			}
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package httpapi

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

var writeOpenAPI = flag.Bool("openapi.write", false, "rewrite apiclient/openapi.json from the served document")

// committedOpenAPI is the copy of the document that the generated client (package apiclient)
// is generated from.
var committedOpenAPI = filepath.Join("apiclient", "openapi.json")

// regenerateClient is the one command that brings apiclient in step with the document.
const regenerateClient = "go generate ./adapters/httpapi/apiclient"

// TestOpenAPI_CommittedDocument checks that apiclient/openapi.json is, byte for byte, what
// GET /api/openapi.json serves: a change to the document must come with the regenerated
// client. With -openapi.write it rewrites the file instead (go generate does that).
func TestOpenAPI_CommittedDocument(t *testing.T) {
	// The document needs no store: the handler is built without a service, and only this
	// route, which never reaches the service, is asked.
	h := New(nil, Options{MaxBodyBytes: DefaultMaxBodyBytes})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, openAPIPath, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", openAPIPath, rec.Code, rec.Body)
	}
	served := append(rec.Body.Bytes(), '\n') // the file ends its last line
	if *writeOpenAPI {
		if err := os.WriteFile(committedOpenAPI, served, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile(committedOpenAPI)
	if err != nil {
		t.Fatalf("%v: run %s", err, regenerateClient)
	}
	if !bytes.Equal(committed, served) {
		line := 1 + bytes.Count(served[:commonPrefix(committed, served)], []byte("\n"))
		t.Fatalf("adapters/httpapi/%s differs from the document served at %s (from line %d): run %s "+
			"to rewrite it and regenerate the client, and commit both", committedOpenAPI, openAPIPath, line, regenerateClient)
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

package mail

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestParse_Corpus runs every file of the shared corpus through Parse: no panic, valid
// UTF-8, and a count of what parsed and why the rest did not. Some files are single MIME
// parts, not messages: they must fail with a reason.
func TestParse_Corpus(t *testing.T) {
	var paths []string
	err := filepath.WalkDir(corpusRoot(), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if !d.IsDir() && name != "README.md" && name != "LICENSE" && !strings.HasSuffix(name, ".txt") {
			paths = append(paths, path)
		}
		return nil
	})
	if os.IsNotExist(err) || (err == nil && len(paths) == 0) {
		t.Skipf("no corpus at %s: it is kept outside the repository", corpusRoot())
	} else if err != nil {
		t.Fatal(err)
	}

	parsed, attachments := 0, 0
	reasons := map[string]int{}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		before := recoveredPanics.Load()
		in, err := Parse(raw, Options{})
		if recoveredPanics.Load() != before {
			t.Errorf("%s: Parse panicked: %v", path, err)
		}
		checkValid(t, in)
		if err != nil {
			reasons[err.Error()]++
			continue
		}
		if in.From == "" && in.Report == nil {
			t.Errorf("%s: parsed without a sender and not a bounce", path)
		}
		parsed++
		attachments += len(in.Attachments)
	}
	t.Logf("corpus: %d files, %d parsed (%d attachments), %d failed", len(paths), parsed, attachments, len(paths)-parsed)
	var keys []string
	for r := range reasons {
		keys = append(keys, r)
	}
	sort.Strings(keys)
	for _, r := range keys {
		t.Logf("  failed with %q: %d", r, reasons[r])
	}
	if parsed == 0 {
		t.Errorf("nothing in the corpus parsed")
	}
}

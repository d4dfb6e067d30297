package mail

import (
	"os"
	"path/filepath"
)

// corpusRoot is the folder of real-world test mail kept outside the repository (its licences
// and origin are not ours): $HELPDESKD_TEST_CORPUS, else shared/corpus beside the checkout.
// The tests that read it skip when it is absent (docs/testing.md).
func corpusRoot() string {
	if d := os.Getenv("HELPDESKD_TEST_CORPUS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "corpus")
}

// CorpusRoot is corpusRoot for the package's external tests.
var CorpusRoot = corpusRoot

package reply

import (
	"os"
	"path/filepath"
)

// corpusDir is the folder of real replies kept outside the repository:
// $HELPDESKD_TEST_CORPUS/replies, else shared/corpus/replies beside the checkout
// (docs/testing.md). The long case in it only measures speed here.
func corpusDir() string {
	if d := os.Getenv("HELPDESKD_TEST_CORPUS"); d != "" {
		return filepath.Join(d, "replies")
	}
	return filepath.Join("..", "..", "..", "..", "shared", "corpus", "replies")
}

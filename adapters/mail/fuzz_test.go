package mail

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, whatever it reads is valid UTF-8 where people read it,
// and a message it accepts has a key. Seeds: testdata/fuzz/FuzzParse and the hostile
// messages.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.eml"))
	for _, p := range paths {
		if raw, err := os.ReadFile(p); err == nil && len(raw) < 64<<10 {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		before := recoveredPanics.Load()
		in, err := Parse(raw, Options{MaxAttachmentBytes: 1 << 16, MaxTextBytes: 1 << 16})
		if recoveredPanics.Load() != before {
			t.Fatalf("Parse panicked: %v", err)
		}
		checkValid(t, in)
		if err == nil && in.From == "" && in.Report == nil {
			t.Errorf("no error, no sender and not a bounce")
		}
		for _, a := range in.Attachments {
			if a.TooLarge != (a.Data == nil && a.Size > 1<<16) {
				t.Errorf("attachment %q: TooLarge %v, size %d, %d bytes", a.Name, a.TooLarge, a.Size, len(a.Data))
			}
		}
		// Read from a file with its files staged, it is the same mail.
		ms := &memStage{max: 1 << 16, blobs: map[string][]byte{}}
		got, gerr := ParseReader(bytes.NewReader(raw), int64(len(raw)), Options{MaxAttachmentBytes: 1 << 16, MaxTextBytes: 1 << 16, Stage: ms.stage})
		if (gerr == nil) != (err == nil) || !reflect.DeepEqual(ms.unstage(t, got), in) {
			t.Errorf("ParseReader with staging differs from Parse: %v / %v", gerr, err)
		}
	})
}

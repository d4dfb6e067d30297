package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
)

// Attachment bytes: kept by content, bounded while read, removed on Discard only when
// nothing else needs them.

// sha256Hex is the name Blobs gives content: backups check files against it.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func runBlobs(t *testing.T, open Opener) {
	put := func(t *testing.T, b core.Blobs, content string, max int64) (string, int64, error) {
		t.Helper()
		return b.Put(ctx, strings.NewReader(content), max)
	}
	// content returns the bytes under hash, or "" and false when there are none.
	content := func(t *testing.T, b core.Blobs, hash string) (string, bool) {
		t.Helper()
		rc, err := b.Open(ctx, hash)
		if core.ErrorCode(err) == core.ENOTFOUND {
			return "", false
		} else if err != nil {
			t.Fatalf("open %s: %v", hash, err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read %s: %v", hash, err)
		}
		return string(data), true
	}

	t.Run("ContentAddressed", func(t *testing.T) {
		b := open(t).Blobs()
		for _, c := range []string{"hello", "hello", "other", "", strings.Repeat("x", 100_000)} {
			hash, size, err := put(t, b, c, 1<<20)
			if err != nil {
				t.Fatalf("put %d bytes: %v", len(c), err)
			}
			if hash != sha256Hex(c) || size != int64(len(c)) {
				t.Errorf("put %d bytes: hash %s size %d, want %s and %d", len(c), hash, size, sha256Hex(c), len(c))
			}
			if got, ok := content(t, b, hash); !ok || got != c {
				t.Errorf("read back %d of %d bytes (found %v)", len(got), len(c), ok)
			}
		}
	})

	t.Run("SizeLimit", func(t *testing.T) {
		b := open(t).Blobs()
		if _, size, err := put(t, b, "12345", 5); err != nil || size != 5 {
			t.Errorf("at the limit: size %d, %v", size, err)
		}
		_, _, err := put(t, b, "123456", 5)
		wantCode(t, "over the limit", err, core.ETOOLARGE)
		if _, ok := content(t, b, sha256Hex("123456")); ok {
			t.Error("bytes over the limit were kept")
		}
		// A reader that never ends is stopped at the limit.
		_, _, err = b.Put(ctx, io.MultiReader(bytes.NewReader(make([]byte, 64)), neverEnding{}), 1000)
		wantCode(t, "an endless upload", err, core.ETOOLARGE)
		// The largest limit there is means no limit, not an overflow.
		if hash, size, err := put(t, b, "unlimited", math.MaxInt64); err != nil || size != 9 {
			t.Errorf("with no limit: size %d, %v", size, err)
		} else if got, _ := content(t, b, hash); got != "unlimited" {
			t.Errorf("with no limit: stored %q", got)
		}
	})

	t.Run("OpenUnknown", func(t *testing.T) {
		b := open(t).Blobs()
		for _, hash := range []string{"", sha256Hex("never stored"), "../../etc/passwd", strings.Repeat("z", 64), strings.ToUpper(sha256Hex("x"))} {
			_, err := b.Open(ctx, hash)
			wantCode(t, "Open("+hash+")", err, core.ENOTFOUND)
		}
	})

	t.Run("StoredAgainAfterDiscard", func(t *testing.T) {
		b := open(t).Blobs()
		hash, _, err := put(t, b, "refused, then sent again", 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Discard(ctx, hash); err != nil {
			t.Fatal(err)
		}
		if _, ok := content(t, b, hash); ok {
			t.Fatal("a discarded upload nothing needs was kept")
		}
		if again, _, err := put(t, b, "refused, then sent again", 1<<20); err != nil || again != hash {
			t.Fatalf("stored again: %s, %v", again, err)
		}
		if got, ok := content(t, b, hash); !ok || got != "refused, then sent again" {
			t.Fatalf("stored again after a discard: read %q (found %v)", got, ok)
		}
		// More Discards than Puts: the extra ones are harmless.
		for range 2 {
			if err := b.Discard(ctx, hash); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := content(t, b, hash); ok {
			t.Error("the last upload's Discard kept the bytes")
		}
	})

	t.Run("ConcurrentPutsOfTheSameBytes", func(t *testing.T) {
		b := open(t).Blobs()
		c := strings.Repeat("the same attachment, sent by several requests at once ", 40_000)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				hash, size, err := b.Put(ctx, strings.NewReader(c), 1<<22)
				if err == nil && (hash != sha256Hex(c) || size != int64(len(c))) {
					err = fmt.Errorf("hash %s size %d, want %s and %d", hash, size, sha256Hex(c), len(c))
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if got, ok := content(t, b, sha256Hex(c)); !ok || got != c {
			t.Errorf("read back %d of %d bytes (found %v)", len(got), len(c), ok)
		}
	})

	t.Run("DiscardKeepsWhatIsNeeded", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		b := d.store.Blobs()
		stage := func(c string) core.FileRef {
			t.Helper()
			f, err := d.svc.StageFile(ctx, "f.txt", "text/plain", strings.NewReader(c))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		alone := stage("nobody needs me")
		twice, _ := stage("uploaded twice"), stage("uploaded twice")
		attached := stage("attached")
		raw := stage("a raw mail")
		d.ticket(t, d.ann, core.NewTicket{Files: []core.FileRef{attached}})
		d.write(t, func(tx core.Tx) error {
			return tx.RecordInbound(ctx, &core.InboundRecord{Channel: core.ChannelEmail, Key: "<raw@example.com>",
				Result: core.InboundRejected, RawHash: raw.Hash, At: epoch})
		})
		steps := []struct {
			name string
			hash string
			kept bool
		}{
			{"referenced by nothing", alone.Hash, false},
			{"one of two uploads in flight", twice.Hash, true},
			{"the last upload in flight", twice.Hash, false},
			{"an attachment's", attached.Hash, true},
			{"a kept raw mail's", raw.Hash, true},
		}
		for _, s := range steps {
			if err := b.Discard(ctx, s.hash); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if _, ok := content(t, b, s.hash); ok != s.kept {
				t.Errorf("%s: kept %v, want %v", s.name, ok, s.kept)
			}
		}
		for _, hash := range []string{sha256Hex("never stored"), "not a hash"} {
			if err := b.Discard(ctx, hash); err != nil {
				t.Errorf("Discard(%q): %v", hash, err)
			}
		}
	})
}

// neverEnding yields zeros for ever.
type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// memStage is an Options.Stage over a map, with Blobs.Put's limit.
type memStage struct {
	max   int64
	blobs map[string][]byte
	err   error // returned for a file named "fail.bin"
}

func (m *memStage) stage(name, contentType string, r io.Reader) (*core.FileRef, int64, error) {
	if name == "fail.bin" && m.err != nil {
		return nil, 0, m.err
	}
	data, err := io.ReadAll(io.LimitReader(r, m.max+1))
	if err != nil {
		return nil, 0, err
	}
	if int64(len(data)) > m.max {
		n, err := io.Copy(io.Discard, r)
		return nil, int64(len(data)) + n, err
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	m.blobs[hash] = data
	return &core.FileRef{FileName: name, ContentType: contentType, Size: int64(len(data)), Hash: hash}, int64(len(data)), nil
}

// unstage puts the staged bytes back as Data, as Parse would have kept them.
func (m *memStage) unstage(t *testing.T, in gateway.Inbound) gateway.Inbound {
	t.Helper()
	files := append([]gateway.File(nil), in.Attachments...)
	for i, f := range files {
		if f.Staged == nil {
			continue
		}
		if f.Staged.Size != f.Size || f.TooLarge {
			t.Errorf("file %q: staged %d bytes, Size %d, TooLarge %v", f.Name, f.Staged.Size, f.Size, f.TooLarge)
		}
		files[i].Data, files[i].Staged = m.blobs[f.Staged.Hash], nil
	}
	in.Attachments = files
	return in
}

// TestParseReader_StagesWhatParseKeeps parses every hostile message, and a few too large to
// commit, both ways: read from a reader with the files staged, each must come out as Parse
// makes it from the bytes, the staged bytes being Parse's Data.
func TestParseReader_StagesWhatParseKeeps(t *testing.T) {
	raws := map[string][]byte{}
	paths, err := filepath.Glob(filepath.Join("testdata", "hostile", "*.eml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no hostile messages: %v", err)
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raws[filepath.Base(path)] = raw
	}
	var big bytes.Buffer
	big.WriteString(crlf(hdr + "Subject: Big file\nMessage-ID: <big@customer.test>\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nSee the files.\n--B\nContent-Type: application/octet-stream; name=\"disk.img\"\nContent-Transfer-Encoding: base64\n\n"))
	base64Zeros(&big, 3<<20)
	big.WriteString(crlf("--B\nContent-Type: application/pdf; name=\"cut.pdf\"\nContent-Transfer-Encoding: base64\n\n" + b64("%PDF-1.4 a file cut short")))
	big.WriteString("JVBER!!!\r\n--B--\r\n")
	raws["generated-big-and-corrupt.eml"] = big.Bytes()
	raws["generated-empty.eml"] = []byte(" \r\n\t\u00a0\r\n")
	raws["generated-header-only.eml"] = []byte("From: ann@customer.test\r\nSubject: no body, no empty line")

	for name, raw := range raws {
		t.Run(name, func(t *testing.T) {
			opts := Options{MaxAttachmentBytes: 1 << 20}
			want, wantErr := Parse(raw, opts)
			ms := &memStage{max: opts.MaxAttachmentBytes, blobs: map[string][]byte{}}
			opts.Stage = ms.stage
			got, gotErr := ParseReader(bytes.NewReader(raw), int64(len(raw)), opts)
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Fatalf("ParseReader error %v, Parse's %v", gotErr, wantErr)
			}
			if got := ms.unstage(t, got); !reflect.DeepEqual(got, want) {
				t.Errorf("ParseReader with staging:\n%+v\nParse:\n%+v", got, want)
			}
		})
	}
}

func TestParseReader_StageError(t *testing.T) {
	raw := []byte(crlf(hdr + "Subject: Files\nMessage-ID: <files@customer.test>\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nTwo files.\n" +
		"--B\nContent-Type: application/pdf; name=\"fail.bin\"\nContent-Transfer-Encoding: base64\n\n" + b64("first") +
		"--B\nContent-Type: application/pdf; name=\"second.pdf\"\nContent-Transfer-Encoding: base64\n\n" + b64("second") + "--B--\n"))
	disk := errors.New("disk full")
	ms := &memStage{max: 1 << 20, blobs: map[string][]byte{}, err: disk}
	in, err := ParseReader(bytes.NewReader(raw), int64(len(raw)), Options{Stage: ms.stage})
	if !errors.Is(err, disk) {
		t.Fatalf("ParseReader error %v, want the store's %v", err, disk)
	}
	if len(ms.blobs) != 0 || len(in.Attachments) != 0 {
		t.Errorf("after the store failed: %d files staged, %d attachments; want the walk stopped", len(ms.blobs), len(in.Attachments))
	}
	if in.Key != "files@customer.test" {
		t.Errorf("Key %q, want the Message-ID", in.Key)
	}
}

// errReaderAt fails every read past its first n bytes.
type errReaderAt struct {
	b []byte
	n int64
}

func (e errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > e.n {
		return 0, errors.New("read failed")
	}
	return copy(p, e.b[off:]), nil
}

func TestParseReader_ReadError(t *testing.T) {
	raw := []byte(crlf(hdr + "Subject: Hello\n\nbody\n"))
	_, err := ParseReader(errReaderAt{raw, 10}, int64(len(raw)), Options{})
	if err == nil || !strings.Contains(err.Error(), "read failed") {
		t.Errorf("ParseReader error %v, want the read error", err)
	}
}

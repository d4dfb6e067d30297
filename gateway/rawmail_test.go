package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// stagedFile is a file a fake parser stages, as the mail adapter would while decoding.
type stagedFile struct {
	name string
	r    io.Reader
}

// parseAs is a Parse that stages the files and returns in (with its files) and err.
func parseAs(in gateway.Inbound, err error, files ...stagedFile) func(io.ReaderAt, int64, gateway.StageFunc) (gateway.Inbound, error) {
	return func(_ io.ReaderAt, _ int64, stage gateway.StageFunc) (gateway.Inbound, error) {
		for _, f := range files {
			ref, size, serr := stage(f.name, "application/octet-stream", f.r)
			if serr != nil {
				return in, serr
			}
			in.Attachments = append(in.Attachments, gateway.File{Name: f.name, ContentType: "application/octet-stream",
				Size: size, Staged: ref, TooLarge: ref == nil})
		}
		return in, err
	}
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestRawMail_StagedFiles(t *testing.T) {
	kept := bytes.Repeat([]byte("kept "), 100)      // 500 bytes, within the desk's 1000
	big := bytes.Repeat([]byte("big "), 400)        // 1600 bytes, over it
	dropped := bytes.Repeat([]byte("dropped "), 50) // staged for a mail that adds nothing
	automatic := mail("<robot@customer.test>", "ann@customer.test", "Out of office", "Away.")
	automatic.Automatic, automatic.AutomaticReason = true, "auto-submitted"
	tests := []struct {
		name       string
		in         gateway.Inbound
		seen       bool // ingested before
		parseErr   error
		files      []stagedFile
		wantFailed bool
		wantErr    bool
		wantResult core.InboundResult // the inbound record's; "" for none
		keptFiles  [][]byte
		goneFiles  [][]byte
		wantBody   string
	}{
		{name: "a new ticket keeps its file and refuses the big one with its size",
			in:        mail("<new@customer.test>", "ann@customer.test", "Logs", "See the logs."),
			files:     []stagedFile{{"a.log", bytes.NewReader(kept)}, {"big.bin", bytes.NewReader(big)}},
			keptFiles: [][]byte{kept}, goneFiles: [][]byte{big}, wantResult: "ticket",
			wantBody: `"big.bin" (1.6 KB) is larger than`},
		{name: "a robot's mail keeps no file",
			in: automatic, files: []stagedFile{{"d.bin", bytes.NewReader(dropped)}},
			goneFiles: [][]byte{dropped}, wantResult: "ignored"},
		{name: "a mail that cannot be parsed fails and keeps no file",
			in:       gateway.Inbound{Channel: core.ChannelEmail, Subject: "broken"},
			parseErr: errors.New("no sender address"), files: []stagedFile{{"d.bin", bytes.NewReader(dropped)}},
			wantFailed: true, goneFiles: [][]byte{dropped}, wantResult: "failed"},
		{name: "a file that cannot be read is tried again",
			in:        mail("<later@customer.test>", "ann@customer.test", "Logs", "See the logs."),
			files:     []stagedFile{{"a.log", bytes.NewReader(kept)}, {"bad.bin", iotest.ErrReader(errors.New("disk gone"))}},
			goneFiles: [][]byte{kept}, wantErr: true},
		{name: "a duplicate keeps no file of its own",
			in: mail("<twice@customer.test>", "ann@customer.test", "Logs", "See the logs."), seen: true,
			files: []stagedFile{{"d.bin", bytes.NewReader(dropped)}}, goneFiles: [][]byte{dropped}, wantResult: "ticket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDesk(t)
			if tt.seen {
				d.ingest(t, tt.in)
			}
			raw := []byte("From: ann@customer.test\r\nSubject: " + tt.name + "\r\n\r\nbody\r\n")
			h := &gateway.RawMail{Blobs: d.db.Blobs(), Pipeline: d.p, Parse: parseAs(tt.in, tt.parseErr, tt.files...)}
			failed, reason, err := h.Apply(ctx, bytes.NewReader(raw), int64(len(raw)))
			if (err != nil) != tt.wantErr || failed != tt.wantFailed {
				t.Fatalf("Apply = failed %v (%q), %v; want failed %v, error %v", failed, reason, err, tt.wantFailed, tt.wantErr)
			}
			if failed && reason != tt.parseErr.Error() {
				t.Errorf("reason %q, want %q", reason, tt.parseErr.Error())
			}
			key := tt.in.Key
			if tt.parseErr != nil {
				key = "sha256:" + hashOf(raw)
			}
			rec, rerr := d.db.Inbound(ctx, core.ChannelEmail, key)
			switch {
			case tt.wantResult == "" && rerr == nil:
				t.Errorf("inbound record %q written for a mail to be tried again", rec.Result)
			case tt.wantResult != "" && rerr != nil:
				t.Errorf("no inbound record: %v", rerr)
			case tt.wantResult != "" && (rec.Result != tt.wantResult || !tt.seen && rec.RawHash != hashOf(raw)):
				t.Errorf("inbound record %q, raw %s; want %q, %s", rec.Result, rec.RawHash, tt.wantResult, hashOf(raw))
			}
			for _, b := range tt.keptFiles {
				if r, err := d.db.Blobs().Open(ctx, hashOf(b)); err != nil {
					t.Errorf("file of %d bytes not kept: %v", len(b), err)
				} else {
					r.Close()
				}
			}
			for _, b := range tt.goneFiles {
				if r, err := d.db.Blobs().Open(ctx, hashOf(b)); err == nil {
					r.Close()
					t.Errorf("file of %d bytes still kept, want it discarded", len(b))
				}
			}
			if tt.wantResult == "ticket" && !tt.seen {
				det := d.detail(t, rec.TicketID)
				msg := det.Messages[0]
				if len(msg.Attachments) != 1 || msg.Attachments[0].FileName != "a.log" || msg.Attachments[0].Size != int64(len(kept)) {
					t.Errorf("attachments %+v, want a.log of %d bytes", msg.Attachments, len(kept))
				}
				if !strings.Contains(msg.Body, tt.wantBody) {
					t.Errorf("body %q, want it to say %q", msg.Body, tt.wantBody)
				}
			}
		})
	}
}

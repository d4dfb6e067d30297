package imap_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/helpdeskd/helpdeskd/adapters/imap"
	"github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// Environment of the child process of TestInbound_PeakMemory.
const (
	envMemoryChild = "HELPDESKD_TEST_MEMORY_CHILD" // the IMAP server's address
	envMemoryFiles = "HELPDESKD_TEST_MEMORY_FILES" // the sizes of the files, "28311552,9437184"
)

// maxPeakRSS is the acceptance bound for a 50 MB mail, the whole inbound path in one
// process. The race detector multiplies memory, so it is only logged then.
const maxPeakRSS = 120 << 20

// TestInbound_PeakMemory measures the peak RSS (VmHWM) of the inbound path — IMAP fetch, the
// raw mail kept, Parse, the attachments staged, the commit — for mails like the issue's. A
// child process runs the path alone, so that neither the mail built here nor the in-memory
// IMAP server holding it counts.
func TestInbound_PeakMemory(t *testing.T) {
	if addr := os.Getenv(envMemoryChild); addr != "" {
		memoryChild(t, addr, os.Getenv(envMemoryFiles))
		return
	}
	if testing.Short() {
		t.Skip("builds 50 MB mails")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc/self/status for VmHWM")
	}
	for _, tc := range []struct {
		name  string
		files []int
		bound int64 // 0: only logged
	}{
		{"everyday-1MB", []int{700 << 10}, 0},
		{"issue-51MB", []int{27 << 20, 9 << 20}, maxPeakRSS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := bigMail(tc.files)
			addr := memServer(t, raw)
			sizes := make([]string, len(tc.files))
			for i, n := range tc.files {
				sizes[i] = strconv.Itoa(n)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestInbound_PeakMemory$", "-test.v")
			// The daemon's collector target (config.TuneGC), so the bound holds for it.
			cmd.Env = append(os.Environ(), envMemoryChild+"="+addr, envMemoryFiles+"="+strings.Join(sizes, ","),
				"GOGC="+strconv.Itoa(config.GCPercent))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			hwm := field(out, "peak-rss-bytes=")
			if hwm <= 0 {
				t.Fatalf("child printed no peak:\n%s", out)
			}
			t.Logf("mail of %.1f MB: peak RSS %.1f MB (%s)", float64(len(raw))/1e6, float64(hwm)/(1<<20), tc.name)
			if tc.bound > 0 && !raceEnabled && hwm > tc.bound {
				t.Errorf("peak RSS %d MiB for a %d MB mail, want below %d MiB", hwm>>20, len(raw)/1e6, tc.bound>>20)
			}
		})
	}
}

// field returns the number after key in out, -1 if none.
func field(out []byte, key string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if _, v, ok := strings.Cut(sc.Text(), key); ok {
			n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// bigMail is a customer's mail with some text and a base64 attachment of each size.
func bigMail(files []int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Ann <ann@customer.test>\r\nTo: support@helpdesk.test\r\nSubject: The logs\r\n" +
		"Message-ID: <memory@customer.test>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.Repeat("The site answers 502 since the update; the logs are attached.\r\n", 50))
	line := make([]byte, 57)
	for i, n := range files {
		fmt.Fprintf(&b, "--B\r\nContent-Type: application/octet-stream; name=\"log%d.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", i)
		for k := 0; k < n; k += len(line) {
			m := min(len(line), n-k)
			for j := range m {
				line[j] = byte(k + j + i) // not zeros: nothing compresses or dedupes it away
			}
			b.WriteString(base64.StdEncoding.EncodeToString(line[:m]))
			b.WriteString("\r\n")
		}
	}
	b.WriteString("--B--\r\n")
	return b.Bytes()
}

// memServer serves an in-memory INBOX holding raw, for user "u" with password "p".
func memServer(t *testing.T, raw []byte) string {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("u", "p")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         goimap.CapSet{goimap.CapIMAP4rev1: {}, goimap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("u", "p").Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String()
}

// memoryChild runs the daemon's inbound path over the server until the mail is handled,
// checks the ticket it made and prints the peak RSS.
func memoryChild(t *testing.T, addr, sizes string) {
	ctx := context.Background()
	db := teststore.Open(t)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{MaxAttachmentBytes: core.DefaultMaxAttachmentBytes})
	if _, err := svc.PutAccount(ctx, core.System(), core.Account{ID: 1, Name: "Customer Ltd"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutUser(ctx, core.System(), core.User{ID: 7, Email: "ann@customer.test", Name: "Ann", AccountIDs: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	staff, err := svc.PutUser(ctx, core.System(), core.User{ID: 9, Email: "stan@provider.test", Name: "Stan", Role: core.RoleStaff})
	if err != nil {
		t.Fatal(err)
	}
	raw := &gateway.RawMail{
		Blobs:    db.Blobs(),
		Pipeline: gateway.NewPipeline(svc, db, gateway.PipelineOptions{Address: "support@helpdesk.test"}),
		Parse: func(r io.ReaderAt, size int64, stage gateway.StageFunc) (gateway.Inbound, error) {
			return mail.ParseReader(r, size, mail.Options{MaxAttachmentBytes: core.DefaultMaxAttachmentBytes, Stage: stage})
		},
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	var handled atomic.Int32
	var failure atomic.Value
	firstHandled := make(chan struct{}) // closed when the handler has returned once
	var once sync.Once
	poller := imap.New(imap.Options{Host: host, Port: p, Security: imap.SecurityNone, Username: "u", Password: "p",
		ProcessedMailbox: "processed", FailedMailbox: "failed", PollInterval: time.Hour,
		MaxMessageBytes: gateway.MaxRawMailBytes, Workers: 8, Logger: slog.New(slog.DiscardHandler)},
		imap.HandlerFunc(func(ctx context.Context, m imap.Mail) (imap.Disposition, string, error) {
			failed, reason, err := raw.Apply(ctx, m.Raw, m.Size)
			defer once.Do(func() { close(firstHandled) })
			defer handled.Add(1)
			if err != nil || failed {
				failure.Store(fmt.Sprint(reason, err))
				return imap.Failed, reason, err
			}
			return imap.Processed, "", nil
		}))
	pctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- poller.Run(pctx) }()
	// The peak is read once the mail went the whole way; the minute only bounds a broken run.
	select {
	case <-firstHandled:
	case <-time.After(time.Minute):
	}
	hwm := vmHWM(t)
	stop()
	<-done
	if f := failure.Load(); f != nil || handled.Load() == 0 {
		t.Fatalf("mail not handled: %v", f)
	}
	var tickets []core.Ticket
	err = db.Read(ctx, func(tx core.ReadTx) (err error) {
		tickets, _, err = tx.Tickets(ctx, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 10}})
		return err
	})
	if err != nil || len(tickets) != 1 {
		t.Fatalf("tickets %d, %v; want 1", len(tickets), err)
	}
	checkFiles(t, svc, staff, tickets[0].ID, sizes)
	fmt.Printf("peak-rss-bytes=%d\n", hwm)
}

// checkFiles checks that the ticket keeps the files within the limit, whole, and says it
// refused the others.
func checkFiles(t *testing.T, svc *core.Service, staff *core.User, id int64, sizes string) {
	det, err := svc.StaffTicket(context.Background(), core.Actor{User: staff, Channel: core.ChannelAPI}, id)
	if err != nil {
		t.Fatal(err)
	}
	msg := det.Messages[0]
	var kept []int64
	for _, a := range msg.Attachments {
		kept = append(kept, a.Size)
	}
	var want []int64
	refused := 0
	for s := range strings.SplitSeq(sizes, ",") {
		n, _ := strconv.ParseInt(s, 10, 64)
		if n > core.DefaultMaxAttachmentBytes {
			refused++
		} else {
			want = append(want, n)
		}
	}
	if fmt.Sprint(kept) != fmt.Sprint(want) {
		t.Errorf("attachments of sizes %v, want %v", kept, want)
	}
	if got := strings.Count(msg.Body, "larger than the"); got != refused {
		t.Errorf("body says %d files were refused, want %d:\n%s", got, refused, msg.Body)
	}
}

// vmHWM returns the process's peak resident set size.
func vmHWM(t *testing.T) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	kb := field(status, "VmHWM:")
	if kb <= 0 {
		t.Fatalf("no VmHWM in /proc/self/status")
	}
	return kb << 10
}

package mail_test

import (
	"context"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// TestPipeline_Corpora runs the hand-made hostile mails and the shared real-world corpus
// through the same path as the daemon: Parse, then the inbound pipeline over a real
// database. Every mail must end as exactly one outcome — a ticket, a reply, a rejection, an
// ignored robot, a bounce, or a parse failure with a reason — and the database must hold a
// ticket for every "ticket" outcome. The counts are logged (docs/email.md quotes them).
func TestPipeline_Corpora(t *testing.T) {
	for _, dir := range []string{"testdata/hostile", mail.CorpusRoot()} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			paths := mailFiles(t, dir)
			if len(paths) == 0 {
				t.Skipf("no mail under %s (the corpus is kept outside the repository)", dir)
			}
			runCorpus(t, paths)
		})
	}
}

func mailFiles(t *testing.T, dir string) []string {
	var paths []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if !d.IsDir() && (strings.HasSuffix(name, ".eml") || strings.HasSuffix(name, ".raw")) {
			paths = append(paths, path)
		}
		return nil
	})
	sort.Strings(paths)
	return paths
}

func runCorpus(t *testing.T, paths []string) {
	ctx := context.Background()
	db := teststore.Open(t)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{Notify: core.NotifyOptions{Email: true}})
	if _, err := svc.PutAccount(ctx, core.System(), core.Account{ID: 1, Name: "Corpus"}); err != nil {
		t.Fatal(err)
	}
	p := gateway.NewPipeline(svc, db, gateway.PipelineOptions{Address: "support@helpdesk.test", Secret: []byte("corpus-secret-0123456789")})

	// Every other distinct sender is a known customer, so that the corpus makes tickets
	// and replies as well as rejections.
	parsed := map[string]gateway.Inbound{}
	var senders []string
	seen := map[string]bool{}
	for _, path := range paths {
		raw, _ := os.ReadFile(path)
		in, err := mail.Parse(raw, mail.Options{})
		if err != nil {
			continue
		}
		parsed[path] = in
		if !seen[in.From] && in.From != "" {
			seen[in.From] = true
			senders = append(senders, in.From)
		}
	}
	sort.Strings(senders)
	for i, addr := range senders {
		if i%2 == 1 {
			continue
		}
		if _, err := svc.PutUser(ctx, core.System(), core.User{ID: int64(i + 1), Email: addr, Name: "Customer", AccountIDs: []int64{1}}); err != nil {
			t.Logf("sender %q not provisioned: %v", addr, err) // an address the panel would not accept either
		}
	}

	counts := map[string]int{}
	tickets := 0
	for _, path := range paths {
		in, ok := parsed[path]
		if !ok {
			counts["parse failure"]++
			continue
		}
		out, err := p.Ingest(ctx, in)
		if err != nil {
			t.Errorf("%s: ingest: %v", path, err)
			continue
		}
		counts[string(out.Result)]++
		if out.Result == gateway.ResultTicket || out.Result == gateway.ResultFollowUp {
			tickets++
		}
	}
	var total int
	db.Read(ctx, func(tx core.ReadTx) error {
		_, total, _ = tx.Tickets(ctx, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 1}})
		return nil
	})
	if total != tickets {
		t.Errorf("%d tickets in the database, %d ticket outcomes", total, tickets)
	}
	sum := 0
	var parts []string
	for _, r := range []core.InboundResult{gateway.ResultTicket, gateway.ResultReply, gateway.ResultFollowUp, gateway.ResultRejected,
		gateway.ResultIgnored, gateway.ResultBounce, gateway.ResultDuplicate, "parse failure"} {
		k := string(r)
		sum += counts[k]
		parts = append(parts, k+" "+itoa(counts[k]))
	}
	if sum != len(paths) {
		t.Errorf("%d outcomes for %d mails: %v", sum, len(paths), counts)
	}
	t.Logf("%d mails: %s", len(paths), strings.Join(parts, ", "))
}

func itoa(n int) string { return strconv.Itoa(n) }

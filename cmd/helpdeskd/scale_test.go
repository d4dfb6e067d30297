package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/imap/imaptest"
	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"github.com/helpdeskd/helpdeskd/core"
)

// scaleLeaseTTL is the leases' TTL in the three-node test: short, so that take-overs
// happen within the test, and long enough that a renewal slowed by a loaded CI machine
// does not lose one.
const scaleLeaseTTL = 5 * time.Second

// heldLeases asks a node's /readyz which leases it holds; ok is false when it does not
// answer (killed, stopped).
func heldLeases(base string) (leases []string, ok bool) {
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get(base + "/readyz")
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Leases []string `json:"leases"`
		} `json:"data"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&env) != nil {
		return nil, false
	}
	return env.Data.Leases, true
}

// TestScale_ThreeNodesOnOnePostgres runs three daemons (child processes) on one Postgres
// database under API, mail and Telegram load. Tickets created on one node are read on the
// others. The node holding the IMAP lease is killed with SIGKILL, and another takes the
// mailbox over; later the next holder is stopped with SIGSTOP past its lease and resumed:
// another has taken over meanwhile, and the resumed one steps down. At the end every
// acknowledged API ticket, every mail and every Telegram ticket is there exactly once, every
// notification is decided, and every staff alert sent is in the staff mailbox, none twice
// under two Message-IDs.
func TestScale_ThreeNodesOnOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three daemons as child processes; run without -short")
	}
	if !teststore.Postgres() {
		t.Skip("several nodes share a Postgres database: run with " + teststore.EnvStore + "=postgres (./scripts/test.sh does)")
	}
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	api := telegramtest.New(t, telegramtest.Options{})
	t.Setenv("HELPDESKD_DATABASE_LEASE_TTL", scaleLeaseTTL.String())

	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "helpdeskd.db")
	const tgUsers = 5
	db := openTestStore(t, dbPath)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	sys := core.System()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.PutAccount(t.Context(), sys, core.Account{ID: 1, Name: "Acme"}))
	must(svc.PutUser(t.Context(), sys, core.User{ID: 1, Email: s.Address("cat"), Name: "Cat", AccountIDs: []int64{1}}))
	must(svc.PutUser(t.Context(), sys, core.User{ID: 2, Email: "ann@acme.example", Name: "Ann", AccountIDs: []int64{1}}))
	must(svc.PutUser(t.Context(), sys, core.User{ID: 9, Email: s.Address("staff"), Name: "Staff", Role: core.RoleStaff}))
	_, annKey, err := svc.CreateAPIKey(t.Context(), sys, 2)
	must(nil, err)
	_, staffKey, err := svc.CreateAPIKey(t.Context(), sys, 9)
	must(nil, err)
	registerSecrets(t, annKey, staffKey)
	for i := 1; i <= tgUsers; i++ {
		u, err := svc.PutUser(t.Context(), sys, core.User{ID: int64(100 + i), Email: fmt.Sprintf("tg%d@acme.example", i), Name: "T", AccountIDs: []int64{1}})
		must(nil, err)
		code, _, err := svc.CreateTelegramLink(t.Context(), core.Actor{User: u, Channel: core.ChannelAPI})
		must(nil, err)
		must(svc.LinkTelegram(t.Context(), code, int64(7000+i)))
	}

	type node struct {
		addr, cfg string
		d         *daemon
	}
	nodes := make([]*node, 3)
	for i := range nodes {
		n := &node{addr: freeAddr(t), cfg: filepath.Join(dir, fmt.Sprintf("node%d.toml", i))}
		toml := mailStackTOML(t, s, n.addr, dbPath, "rate_limit_per_second = 0.0", fmt.Sprintf(`[telegram]
enabled = true
token = "1:scale"
api_url = %q
[notify]
staff_emails = [%q]
retry_delay = "200ms"
max_retry_delay = "1s"
max_attempts = 5
`, api.URL(), s.Address("staff")))
		if err := os.WriteFile(n.cfg, []byte(toml), 0o600); err != nil {
			t.Fatal(err)
		}
		n.d = startDaemon(t, n.cfg, n.addr)
		nodes[i] = n
	}
	// holder returns the node answering that it holds lease, among those not excluded.
	holder := func(lease string, except ...*node) *node {
		for _, n := range nodes {
			if slices.Contains(except, n) {
				continue
			}
			if held, ok := heldLeases(n.d.base); ok && slices.Contains(held, lease) {
				return n
			}
		}
		return nil
	}
	const imapLease = "imap:INBOX"

	run := fmt.Sprint(time.Now().UnixNano())
	var (
		mu     sync.Mutex
		acked  = map[string]int64{} // API subject → ID, answered 201 by some node
		mails  []string
		tgSubj []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 3 { // one API client per node; a node that is down just fails its requests
		wg.Go(func() {
			client := &http.Client{Timeout: 3 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(30 * time.Millisecond):
				}
				subject := fmt.Sprintf("api c%d n%d", c, i)
				if id, err := createTicket(client, nodes[c].d.base, annKey, subject); err == nil {
					mu.Lock()
					acked[subject] = id
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			subject := fmt.Sprintf("mail n%d", i)
			imaptest.Append(t, s, "support", "INBOX", compose(s.Address("cat"), s.Address("support"), subject, fmt.Sprintf("s%d-%s@cat.helpdesk.test", i, run), "body of "+subject))
			mu.Lock()
			mails = append(mails, subject)
			mu.Unlock()
		}
	})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			u := 1 + i%tgUsers
			subject := fmt.Sprintf("tg u%d n%d", u, i)
			mu.Lock()
			tgSubj = append(tgSubj, subject)
			mu.Unlock()
			api.PushMessage(telegramtest.Message{From: int64(7000 + u), Text: "/new " + subject})
			api.PushMessage(telegramtest.Message{From: int64(7000 + u), Text: "description of " + subject})
		}
	})

	// Exactly one node polls the mailbox.
	var first *node
	eventually(t, 30*time.Second, func() error {
		if first = holder(imapLease); first == nil {
			return fmt.Errorf("no node holds %s", imapLease)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // load on all three before the first failure
	first.d.cmd.Process.Signal(syscall.SIGKILL)
	first.d.cmd.Wait()
	killed := time.Now()
	var second *node
	eventually(t, 10*scaleLeaseTTL, func() error {
		if second = holder(imapLease, first); second == nil {
			return fmt.Errorf("no node took %s over from the killed one", imapLease)
		}
		return nil
	})
	t.Logf("%s taken over %v after its holder was killed (lease TTL %v)", imapLease, time.Since(killed).Round(10*time.Millisecond), scaleLeaseTTL)

	// The new holder freezes past its lease: the third node takes over; the frozen one,
	// resumed, finds its lease gone and stands by.
	second.d.cmd.Process.Signal(syscall.SIGSTOP)
	stopped := time.Now()
	var third *node
	eventually(t, 10*scaleLeaseTTL, func() error {
		if third = holder(imapLease, first, second); third == nil {
			return fmt.Errorf("no node took %s over from the stopped one", imapLease)
		}
		return nil
	})
	t.Logf("%s taken over %v after its holder was stopped", imapLease, time.Since(stopped).Round(10*time.Millisecond))
	time.Sleep(scaleLeaseTTL) // mail goes on arriving while the old holder is frozen
	second.d.cmd.Process.Signal(syscall.SIGCONT)
	eventually(t, 10*scaleLeaseTTL, func() error {
		held, ok := heldLeases(second.d.base)
		if !ok || slices.Contains(held, imapLease) {
			return fmt.Errorf("the resumed node still answers %v (up %v) for the leases it holds; log:\n%s", held, ok, second.d.logs)
		}
		return nil
	})
	if !strings.Contains(second.d.logs.String(), "lease lost: standing by") {
		t.Errorf("the resumed node did not say it stepped down; log:\n%s", second.d.logs)
	}
	if h := holder(imapLease, first); h != third {
		t.Fatalf("%s held by %v after the resume, want the third node", imapLease, h)
	}
	// The gauge says the same: 1 on the holder, 0 on the node that stepped down.
	for _, c := range []struct {
		n    *node
		want string
	}{{third, "1"}, {second, "0"}} {
		if got := leaseGauge(t, c.n.d.base, imapLease); got != c.want {
			t.Errorf("helpdeskd_lease_held{lease=%q} = %q, want %s", imapLease, got, c.want)
		}
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	// Drain: the mailbox, the updates, the outbox (the killed node's claims end with its
	// liveness lease).
	child := openRawDB(t, dbPath)
	eventually(t, 2*mailWait, func() error {
		var pending int
		if err := child.QueryRow(`SELECT count(*) FROM notifications WHERE state = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		inbox := imaptest.Count(t, s, "support", "INBOX")
		if inbox == 0 && api.Pending() == 0 && pending == 0 {
			return nil
		}
		var claims strings.Builder
		rows, err := child.Query(`SELECT id, channel, recipient, attempts, last_error, coalesce(claimed_by, ''),
			coalesce(locked_until::text, '') FROM notifications WHERE state = 'pending'`)
		if err == nil {
			for rows.Next() {
				var id, attempts int64
				var ch, to, lastErr, by, until string
				rows.Scan(&id, &ch, &to, &attempts, &lastErr, &by, &until)
				fmt.Fprintf(&claims, "\n  notification %d %s to %s: %d attempts, last error %q, claimed by %q until %s", id, ch, to, attempts, lastErr, by, until)
			}
			rows.Close()
		}
		return fmt.Errorf("not drained: %d mails in INBOX, %d updates, %d notifications pending%s\nlogs of the resumed node:\n%s\nlogs of the last holder:\n%s",
			inbox, api.Pending(), pending, claims.String(), second.d.logs, third.d.logs)
	})

	// Each ticket once, whichever node made it; read on a node that did not make it.
	subjects := ticketSubjects(t, third.d.base, staffKey)
	var lost, dup int
	check := func(kind string, want []string) {
		l, twice := checkOnce(t, subjects, kind, want)
		lost, dup = lost+l, dup+twice
	}
	var apiSubj []string
	for subj, id := range acked {
		apiSubj = append(apiSubj, subj)
		if strings.HasPrefix(subj, "api c0 ") && id%7 == 0 {
			// Made on node 0, read on node 2.
			if status := getStatus(t, third.d.base+fmt.Sprintf("/api/Ticket/%d?accountId=1", id), annKey); status != 200 {
				t.Errorf("ticket %d made on one node: %d on another", id, status)
			}
		}
	}
	check("acknowledged API ticket", apiSubj)
	check("mail", mails)
	check("Telegram ticket", tgSubj)

	var undecided, tickets int
	child.QueryRow(`SELECT count(*) FROM tickets`).Scan(&tickets)
	child.QueryRow(`SELECT count(*) FROM notifications WHERE state NOT IN ('sent', 'failed', 'bounced')`).Scan(&undecided)
	if undecided != 0 {
		t.Errorf("%d notifications undecided", undecided)
	}
	// Every staff alert sent is in the staff mailbox; one delivered twice (its node died
	// between the send and the record) carries the same Message-ID both times.
	sentRefs := map[string]bool{}
	rows, err := child.Query(`SELECT message_ref FROM notifications WHERE state = 'sent' AND channel = 'email' AND message_ref IS NOT NULL
		AND recipient = '` + s.Address("staff") + `'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref string
		rows.Scan(&ref)
		sentRefs[ref] = true
	}
	rows.Close()
	eventually(t, mailWait, func() error {
		seen := map[string]int{}
		for _, m := range imaptest.Read(t, s, "staff", "INBOX") {
			msg, err := mail.ReadMessage(strings.NewReader(string(m.Raw)))
			if err != nil {
				continue
			}
			seen[strings.Trim(msg.Header.Get("Message-Id"), "<>")]++
		}
		missing, twice := 0, 0
		for ref := range sentRefs {
			switch seen[strings.Trim(ref, "<>")] {
			case 0:
				missing++
			case 1:
			default:
				twice++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d sent staff alerts not in the staff mailbox", missing, len(sentRefs))
		}
		if twice > 0 {
			t.Logf("%d staff alerts delivered twice under their one Message-ID", twice)
		}
		return nil
	})
	t.Logf("three nodes: %d API tickets acknowledged, %d mails, %d Telegram tickets; %d tickets, lost %d, duplicated %d; %d staff alerts sent",
		len(acked), len(mails), len(tgSubj), tickets, lost, dup, len(sentRefs))
}

// leaseGauge reads helpdeskd_lease_held for lease from a node's /metrics ("" if absent).
func leaseGauge(t *testing.T, base, lease string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	prefix := fmt.Sprintf("helpdeskd_lease_held{lease=%q} ", lease)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return ""
}

// getStatus is the status of an authenticated GET.
func getStatus(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

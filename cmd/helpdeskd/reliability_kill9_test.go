package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/imap/imaptest"
	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/core"
)

// longEnv turns on the long form of the reliability suite (docs/reliability.md): 20 kill
// rounds instead of 5, a 10-minute soak instead of 30 seconds.
const longEnv = "HELPDESKD_TEST_LONG"

func longForm() bool { return os.Getenv(longEnv) == "1" }

// TestReliability_Kill9UnderMixedLoad kills the daemon (a child process) with SIGKILL at a
// random moment of each round while API clients create tickets, mails arrive in the support
// mailbox (real Dovecot) and Telegram customers open tickets (the redelivering Bot API of
// telegramtest: the emulator cannot replay an unconfirmed update). After the last round
// it restarts the daemon, lets it drain, and checks: every acknowledged API ticket, every
// mail and every Telegram ticket present exactly once; every notification the tickets caused
// delivered or marked failed, and each ticket's staff alert in the staff mailbox (through
// the real Postfix).
func TestReliability_Kill9UnderMixedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon as a child process many times; run without -short")
	}
	s := imaptest.Env(t)
	resetMailboxes(t, s)
	rounds := 5
	if longForm() {
		rounds = 20
	}
	api := telegramtest.New(t, telegramtest.Options{})

	dir := t.TempDir()
	addr := freeAddr(t)
	dbPath := filepath.Join(dir, "data", "helpdeskd.db")
	cfgPath := filepath.Join(dir, "helpdeskd.toml")
	toml := mailStackTOML(t, s, addr, dbPath, "rate_limit_per_second = 0.0", fmt.Sprintf(`[telegram]
enabled = true
token = "1:reliability"
api_url = %q
[notify]
staff_emails = [%q]
retry_delay = "200ms"
max_retry_delay = "1s"
max_attempts = 5
`, api.URL(), s.Address("staff")))
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}

	// Account 1: cat (mail), ann (API key), ten Telegram customers; staff.
	const tgUsers = 10
	ctx := context.Background()
	db := openTestStore(t, dbPath)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	sys := core.System()
	mustDo := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Acme"}))
	mustDo(svc.PutUser(ctx, sys, core.User{ID: 1, Email: s.Address("cat"), Name: "Cat", AccountIDs: []int64{1}}))
	mustDo(svc.PutUser(ctx, sys, core.User{ID: 2, Email: "ann@acme.example", Name: "Ann", AccountIDs: []int64{1}}))
	mustDo(svc.PutUser(ctx, sys, core.User{ID: 9, Email: s.Address("staff"), Name: "Staff", Role: core.RoleStaff}))
	_, annKey, err := svc.CreateAPIKey(ctx, sys, 2)
	mustDo(nil, err)
	_, staffKey, err := svc.CreateAPIKey(ctx, sys, 9)
	mustDo(nil, err)
	for i := 1; i <= tgUsers; i++ {
		u, err := svc.PutUser(ctx, sys, core.User{ID: int64(100 + i), Email: fmt.Sprintf("tg%d@acme.example", i), Name: "T", AccountIDs: []int64{1}})
		mustDo(nil, err)
		code, _, err := svc.CreateTelegramLink(ctx, core.Actor{User: u, Channel: core.ChannelAPI})
		mustDo(nil, err)
		mustDo(svc.LinkTelegram(ctx, code, int64(7000+i)))
	}
	db.Close()

	run := fmt.Sprint(time.Now().UnixNano())
	var (
		mu      sync.Mutex
		acked   = map[string]bool{} // API subjects answered 201
		mails   []string            // mail subjects appended
		tgSubj  []string            // Telegram subjects pushed
		apiSent atomic.Int64
	)
	tgNext := make([]int, tgUsers+1)
	for round := 0; round < rounds; round++ {
		d := startDaemon(t, cfgPath, addr)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for c := 0; c < 4; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				client := &http.Client{Timeout: 5 * time.Second}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					subject := fmt.Sprintf("api r%d c%d n%d", round, c, i)
					apiSent.Add(1)
					if _, err := createTicket(client, d.base, annKey, subject); err == nil {
						mu.Lock()
						acked[subject] = true
						mu.Unlock()
					}
					time.Sleep(20 * time.Millisecond)
				}
			}(c)
		}
		wg.Add(1)
		go func() { // mail: a few per round, appended straight into the mailbox
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(150 * time.Millisecond):
				}
				subject := fmt.Sprintf("mail r%d n%d", round, i)
				raw := compose(s.Address("cat"), s.Address("support"), subject, fmt.Sprintf("m%d-%d-%s@cat.helpdesk.test", round, i, run), "body of "+subject)
				imaptest.Append(t, s, "support", "INBOX", raw)
				mu.Lock()
				mails = append(mails, subject)
				mu.Unlock()
			}
		}()
		wg.Add(1)
		go func() { // Telegram: /new <subject>, then the description, per customer
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				u := 1 + rand.IntN(tgUsers)
				mu.Lock()
				tgNext[u]++
				subject := fmt.Sprintf("tg u%d n%d", u, tgNext[u])
				tgSubj = append(tgSubj, subject)
				mu.Unlock()
				api.PushMessage(telegramtest.Message{From: int64(7000 + u), Text: "/new " + subject})
				api.PushMessage(telegramtest.Message{From: int64(7000 + u), Text: "description of " + subject})
			}
		}()
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		d.cmd.Process.Signal(syscall.SIGKILL)
		close(stop)
		wg.Wait()
		d.cmd.Wait()
		if ws, ok := d.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: daemon ended by %v, not SIGKILL; log:\n%s", round, d.cmd.ProcessState, d.logs)
		}
	}

	// Restart and let everything drain: the mailbox, the updates, the outbox.
	d := startDaemon(t, cfgPath, addr)
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
		return fmt.Errorf("not drained: %d mails in INBOX, %d updates, %d notifications pending; log:\n%s", inbox, api.Pending(), pending, d.logs)
	})

	subjects := ticketSubjects(t, d.base, staffKey)
	var lost, dup int
	check := func(kind string, want []string) {
		l, twice := checkOnce(t, subjects, kind, want)
		lost, dup = lost+l, dup+twice
	}
	var apiSubj []string
	for subj := range acked {
		apiSubj = append(apiSubj, subj)
	}
	check("acknowledged API ticket", apiSubj)
	check("mail", mails)
	check("Telegram ticket", tgSubj)
	for subj, n := range subjects {
		if strings.HasPrefix(subj, "mail ") || strings.HasPrefix(subj, "tg ") {
			continue
		}
		if !strings.HasPrefix(subj, "api ") || n != 1 {
			t.Errorf("unexpected ticket %q ×%d", subj, n)
		}
	}

	// Every ticket caused a confirmation and a staff alert; none is left undecided.
	var undecided, sent, failed, tickets int
	child.QueryRow(`SELECT count(*) FROM tickets`).Scan(&tickets)
	child.QueryRow(`SELECT count(*) FROM notifications WHERE state NOT IN ('sent', 'failed', 'bounced')`).Scan(&undecided)
	child.QueryRow(`SELECT count(*) FROM notifications WHERE state = 'sent'`).Scan(&sent)
	child.QueryRow(`SELECT count(*) FROM notifications WHERE state = 'failed'`).Scan(&failed)
	var withoutAlert int
	if err := child.QueryRow(`SELECT count(*) FROM tickets t WHERE NOT EXISTS (
		SELECT 1 FROM notifications n WHERE n.ticket_id = t.id AND n.recipient = $1)`, s.Address("staff")).Scan(&withoutAlert); err != nil {
		t.Fatal(err)
	}
	if undecided != 0 || withoutAlert != 0 {
		t.Errorf("%d notifications undecided, %d tickets without a staff alert in the outbox", undecided, withoutAlert)
	}
	// The staff alerts that were sent are in the staff mailbox.
	var sentAlerts []int64
	rows, err := child.Query(`SELECT DISTINCT ticket_id FROM notifications WHERE recipient = $1 AND state = 'sent'`, s.Address("staff"))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		sentAlerts = append(sentAlerts, id)
	}
	rows.Close()
	t.Logf("reliability kill9: %d rounds survived; inputs: %d API requests (%d acknowledged), %d mails, %d Telegram tickets; "+
		"%d tickets, lost %d, duplicated %d; notifications: %d sent, %d failed, %d undecided",
		rounds, apiSent.Load(), len(acked), len(mails), len(tgSubj), tickets, lost, dup, sent, failed, undecided)
	eventually(t, mailWait, func() error {
		var staffBox []string
		for _, m := range imaptest.Read(t, s, "staff", "INBOX") {
			staffBox = append(staffBox, string(m.Raw))
		}
		missing := 0
		for _, id := range sentAlerts {
			if !containsAny(staffBox, fmt.Sprintf("[#%d]", id)) {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d sent staff alerts not in the staff mailbox", missing, len(sentAlerts))
		}
		return nil
	})
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// ticketSubjects counts the tickets of account 1 by subject, as staff sees them on base.
func ticketSubjects(t *testing.T, base, staffKey string) map[string]int {
	t.Helper()
	subjects := map[string]int{}
	for _, subject := range listAll(t, base, staffKey) {
		subjects[subject]++
	}
	return subjects
}

// checkOnce reports each subject of want that is not in exactly one ticket (subjects:
// ticketSubjects) and returns how many were lost and how many duplicated.
func checkOnce(t *testing.T, subjects map[string]int, kind string, want []string) (lost, dup int) {
	t.Helper()
	for _, subj := range want {
		switch n := subjects[subj]; {
		case n == 0:
			lost++
			t.Errorf("%s %q: lost", kind, subj)
		case n > 1:
			dup++
			t.Errorf("%s %q: in %d tickets", kind, subj, n)
		}
	}
	return lost, dup
}

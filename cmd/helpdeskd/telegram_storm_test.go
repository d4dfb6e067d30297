package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/core"
)

// telegramState is /readyz's report of the Bot API ("" when there is none).
func telegramState(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Telegram struct {
				State string `json:"state"`
			} `json:"telegram"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&env) != nil {
		t.Fatalf("/readyz answered %d while Telegram pushed back: the node must stay ready", resp.StatusCode)
	}
	return env.Data.Telegram.State
}

// TestTelegram_429StormOnTheRunningDaemon has Telegram answer every send, forum topic
// call and getChat with 429 and retry_after for 30 s while customers open tickets: /readyz
// and /metrics say the bot is throttled and the node stays ready; once the storm ends
// every notification is delivered, each once, every ticket has one topic in the forum
// staff chat, and the state is back to ok. The project's own fake plays Telegram: no
// emulator can be told to flood a bot out, nor has forum topics.
func TestTelegram_429StormOnTheRunningDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon and waits out a 30 s storm; run without -short")
	}
	api := telegramtest.New(t, telegramtest.Options{})
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr)
	const staffChat = -1001234
	api.Forum(staffChat)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "\n[telegram]\nenabled = true\ntoken = \"1:storm\"\napi_url = %q\nstaff_chat_id = %d\n", api.URL(), staffChat)
	f.Close()
	dbPath := filepath.Join(dir, "data", "helpdeskd.db")

	const users, perUser = 3, 2
	ctx := context.Background()
	db := openTestStore(t, dbPath)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	if _, err := svc.PutAccount(ctx, core.System(), core.Account{ID: 1, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	keys := map[int]string{}
	for i := 1; i <= users; i++ {
		u, err := svc.PutUser(ctx, core.System(), core.User{ID: int64(i), Email: fmt.Sprintf("u%d@acme.example", i), Name: "U", AccountIDs: []int64{1}})
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := svc.CreateTelegramLink(ctx, core.Actor{User: u, Channel: core.ChannelAPI})
		if err == nil {
			_, err = svc.LinkTelegram(ctx, code, int64(7100+i))
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, keys[i], err = svc.CreateAPIKey(ctx, core.System(), int64(i)); err != nil {
			t.Fatal(err)
		}
		registerSecrets(t, keys[i])
	}
	db.Close()

	d := startDaemon(t, cfg, addr)
	api.Storm(30*time.Second, 3)
	stormEnds := time.Now().Add(30 * time.Second)
	var subjects []string
	ids := map[string]int64{}
	for i := 1; i <= users; i++ {
		for j := range perUser {
			subject := fmt.Sprintf("storm ticket u%d n%d", i, j)
			id, err := createTicket(http.DefaultClient, d.base, keys[i], subject)
			if err != nil {
				t.Fatal(err)
			}
			subjects = append(subjects, subject)
			ids[subject] = id
		}
	}
	eventually(t, 20*time.Second, func() error {
		if s := telegramState(t, d.base); s != "throttled" {
			return fmt.Errorf("/readyz says telegram %q during the storm (%d sends refused); log:\n%s", s, api.Refused(), d.logs)
		}
		if g := metricValue(t, d.base, `helpdeskd_telegram_api_state{state="throttled"}`); g != "1" {
			return fmt.Errorf("helpdeskd_telegram_api_state{state=\"throttled\"} = %q", g)
		}
		return nil
	})
	if time.Now().After(stormEnds) {
		t.Fatal("the storm ended before it was seen")
	}

	raw := openRawDB(t, dbPath)
	eventually(t, 2*time.Minute, func() error {
		var pending, failed int
		if err := raw.QueryRow(`SELECT count(*) FROM notifications WHERE state = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if err := raw.QueryRow(`SELECT count(*) FROM notifications WHERE state = 'failed'`).Scan(&failed); err != nil {
			t.Fatal(err)
		}
		if failed > 0 {
			t.Fatalf("%d notifications failed in the storm; log:\n%s", failed, d.logs)
		}
		if pending > 0 {
			return fmt.Errorf("%d notifications pending %v after the storm began", pending, time.Since(stormEnds.Add(-30*time.Second)).Round(time.Second))
		}
		return nil
	})
	if api.Refused() == 0 {
		t.Fatal("no send met the storm")
	}
	// Each ticket once to its customer's chat and once to the staff chat.
	for i := 1; i <= users; i++ {
		for _, s := range subjects {
			if !strings.Contains(s, fmt.Sprintf("u%d ", i)) {
				continue
			}
			if n := countSent(api.SentTo(int64(7100+i)), s); n != 1 {
				t.Errorf("%q reached its customer %d times, want once", s, n)
			}
			// The staff alert names the ticket by its number, in the ticket's topic.
			thread := topicNamed(api.Topics(staffChat), fmt.Sprintf("#%d %s", ids[s], s))
			if thread == 0 {
				t.Errorf("%q has no topic in the staff chat: %+v", s, api.Topics(staffChat))
			}
			if n := countSent(inThread(api.SentTo(staffChat), thread), fmt.Sprintf("#%d ", ids[s])); n != 1 {
				t.Errorf("%q reached its topic %d times, want once", s, n)
			}
		}
	}
	if made := api.Created(staffChat); made != len(subjects) {
		t.Errorf("%d topics made for %d tickets", made, len(subjects))
	}
	eventually(t, 10*time.Second, func() error {
		if s := telegramState(t, d.base); s != "ok" {
			return fmt.Errorf("/readyz says telegram %q after the storm", s)
		}
		return nil
	})
	t.Logf("%d tickets, %d sends refused by the storm, all delivered once", len(subjects), api.Refused())
}

// topicNamed is the thread of the topic called name (0: none).
func topicNamed(topics []telegramtest.Topic, name string) int64 {
	for _, tp := range topics {
		if tp.Name == name {
			return tp.Thread
		}
	}
	return 0
}

// inThread keeps the messages sent to thread.
func inThread(sent []telegramtest.Sent, thread int64) []telegramtest.Sent {
	var out []telegramtest.Sent
	for _, m := range sent {
		if m.Thread == thread {
			out = append(out, m)
		}
	}
	return out
}

// countSent is how many of sent contain text.
func countSent(sent []telegramtest.Sent, text string) int {
	n := 0
	for _, m := range sent {
		if strings.Contains(m.Text, text) {
			n++
		}
	}
	return n
}

// metricValue is the value of one series in a node's /metrics ("" if absent).
func metricValue(t *testing.T, base, series string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

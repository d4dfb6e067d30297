package telegram_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/telegram"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

var ctx = context.Background()

// emulatorURL is the telegram-test-api emulator that scripts/test.sh starts.
func emulatorURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("HELPDESKD_TEST_TELEGRAM_API")
	if u == "" {
		t.Skip("no Bot API emulator: run ./scripts/test.sh, or start telegram-test-api and set HELPDESKD_TEST_TELEGRAM_API")
	}
	return strings.TrimRight(u, "/")
}

// A Telegram user as the emulator's client plays them.
type tgUser struct {
	ID       int64
	Chat     int64
	Name     string
	ChatType string
}

var (
	annTG      = tgUser{ID: 1001, Chat: 1001, Name: "Ann", ChatType: "private"}
	bobTG      = tgUser{ID: 1002, Chat: 1002, Name: "Bob", ChatType: "private"}
	samTG      = tgUser{ID: 1009, Chat: 1009, Name: "Sam", ChatType: "private"}
	strangerTG = tgUser{ID: 1500, Chat: 1500, Name: "Eve", ChatType: "private"}
)

const staffChat = -100500

func inStaffChat(u tgUser) tgUser { u.Chat, u.ChatType = staffChat, "supergroup"; return u }

// botMsg is a message the bot sent, as the emulator shows it.
type botMsg struct {
	ID      int64
	Chat    int64
	Text    string
	Buttons []struct {
		Text string `json:"text"`
		Data string `json:"callback_data"`
	}
	ForceReply bool
}

func (m botMsg) button(label string) string {
	for _, b := range m.Buttons {
		if strings.Contains(b.Text, label) {
			return b.Data
		}
	}
	return ""
}

// emu drives the emulator's client API: what a person does in the Telegram app.
type emu struct {
	t     *testing.T
	url   string
	token string

	// ticketOf is the ticket the bot recorded for one of its messages, 0 for none yet.
	ticketOf func(chat, message int64) int64

	mu      sync.Mutex
	history map[int64][]botMsg // every bot message seen, per chat
	read    map[int64]int      // how many of them expect has consumed
}

func (e *emu) post(path string, body any) []byte {
	e.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(e.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatalf("emulator %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("emulator %s: %s %s", path, resp.Status, data)
	}
	return data
}

func (e *emu) common(u tgUser) map[string]any {
	return map[string]any{
		"botToken": e.token,
		"date":     time.Now().Unix(),
		"from":     map[string]any{"id": u.ID, "first_name": u.Name, "username": strings.ToLower(u.Name), "is_bot": false},
		"chat":     map[string]any{"id": u.Chat, "first_name": u.Name, "title": u.Name, "type": u.ChatType},
	}
}

// say sends a text (a command when it starts with "/"); extra fields are merged in.
func (e *emu) say(u tgUser, text string, extra map[string]any) {
	e.t.Helper()
	m := e.common(u)
	m["text"] = text
	for k, v := range extra {
		m[k] = v
	}
	if strings.HasPrefix(text, "/") {
		n := strings.IndexByte(text, ' ')
		if n < 0 {
			n = len(text)
		}
		m["entities"] = []any{map[string]any{"offset": 0, "length": n, "type": "bot_command"}}
		e.post("/sendCommand", m)
		return
	}
	e.post("/sendMessage", m)
}

// replyTo answers a bot message with a Telegram reply.
func (e *emu) replyTo(u tgUser, to botMsg, text string, extra map[string]any) {
	e.t.Helper()
	// The bot records which ticket a message of its belongs to once Telegram has answered
	// the send, a moment after the message reached the chat; a user cannot answer sooner
	// than they see it, the test can. So wait for the record, as a user's reading does.
	eventually(e.t, expectWait, func() error {
		if e.ticketOf(to.Chat, to.ID) == 0 {
			return fmt.Errorf("chat %d: bot message %d (%q) belongs to no ticket", to.Chat, to.ID, to.Text)
		}
		return nil
	})
	m := map[string]any{"reply_to_message": map[string]any{"message_id": to.ID, "text": to.Text,
		"chat": map[string]any{"id": u.Chat, "type": u.ChatType}, "from": map[string]any{"id": 666, "is_bot": true, "first_name": "Bot"}}}
	for k, v := range extra {
		m[k] = v
	}
	e.say(u, text, m)
}

// press taps an inline button under a bot message.
func (e *emu) press(u tgUser, on botMsg, data string) {
	e.t.Helper()
	if data == "" {
		e.t.Fatalf("no such button under %q", on.Text)
	}
	c := e.common(u)
	e.post("/sendCallback", map[string]any{"botToken": e.token, "from": c["from"], "data": data,
		"message": map[string]any{"message_id": on.ID, "chat": c["chat"], "text": on.Text, "date": c["date"]}})
}

func (e *emu) fetch(chat int64) {
	data := e.post("/getUpdates", map[string]any{"token": e.token, "chatId": chat})
	var resp struct {
		Result []struct {
			MessageID int64 `json:"messageId"`
			Message   struct {
				Text        string          `json:"text"`
				ReplyMarkup json.RawMessage `json:"reply_markup"`
			} `json:"message"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		e.t.Fatalf("emulator getUpdates: %v: %s", err, data)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range resp.Result {
		m := botMsg{ID: r.MessageID, Chat: chat, Text: r.Message.Text}
		var markup struct {
			Inline [][]struct {
				Text string `json:"text"`
				Data string `json:"callback_data"`
			} `json:"inline_keyboard"`
			ForceReply bool `json:"force_reply"`
		}
		if len(r.Message.ReplyMarkup) > 0 && r.Message.ReplyMarkup[0] == '"' {
			var s string
			json.Unmarshal(r.Message.ReplyMarkup, &s)
			r.Message.ReplyMarkup = json.RawMessage(s)
		}
		json.Unmarshal(r.Message.ReplyMarkup, &markup)
		for _, row := range markup.Inline {
			m.Buttons = append(m.Buttons, row...)
		}
		m.ForceReply = markup.ForceReply
		e.history[chat] = append(e.history[chat], m)
	}
}

// expectWait bounds the wait for a bot message: generous, since the dispatcher paces sends and
// a loaded 2-core machine running the race detector is slow; a passing test never waits it.
const expectWait = 30 * time.Second

// expect waits for the next bot message to chat and checks that it contains want.
func (e *emu) expect(chat int64, want string) botMsg {
	e.t.Helper()
	var m botMsg
	eventually(e.t, expectWait, func() error {
		e.fetch(chat)
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.read[chat] == len(e.history[chat]) {
			return fmt.Errorf("chat %d: no bot message containing %q", chat, want)
		}
		m = e.history[chat][e.read[chat]]
		e.read[chat]++
		return nil
	})
	if !strings.Contains(m.Text, want) {
		e.t.Fatalf("chat %d: bot said %q, want it to contain %q", chat, m.Text, want)
	}
	return m
}

// testLog sends the gateway's log to the test's, and fails the test on a line that holds
// one of the secrets (the bot token, API keys): no log line may ever show them.
type testLog struct {
	t       *testing.T
	secrets []string
}

func (l testLog) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	for _, s := range l.secrets {
		if s != "" && strings.Contains(line, s) {
			l.t.Errorf("a log line shows a secret: %s", strings.ReplaceAll(line, s, "<SECRET>"))
		}
	}
	l.t.Log(line)
	return len(p), nil
}

// recorder stands in for the SMTP sender (another adapter's): it records the mail.
type recorder struct {
	mu  sync.Mutex
	out []gateway.Outgoing
}

func (r *recorder) Send(_ context.Context, o gateway.Outgoing) error {
	r.mu.Lock()
	r.out = append(r.out, o)
	r.mu.Unlock()
	return nil
}

func (r *recorder) to(addr string) []gateway.Outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	var list []gateway.Outgoing
	for _, o := range r.out {
		if o.To == addr {
			list = append(list, o)
		}
	}
	return list
}

// desk is a helpdesk on a real SQLite file: accounts 1 and 2, Ann (customer of 1), Bob
// (customer of 2) and Sam (staff), the REST API, the dispatcher and the Telegram gateway
// pointed at apiURL with a token of its own.
type desk struct {
	t      *testing.T
	db     teststore.Store
	svc    *core.Service
	pipe   *gateway.Pipeline
	gw     *telegram.Bot
	api    *httptest.Server
	keys   map[string]string
	emails *recorder
	e      *emu
	token  string
	url    string
	opts   telegram.Options

	cancel context.CancelFunc
	done   chan struct{}
}

func newDesk(t *testing.T, apiURL string, maxBytes int64) *desk {
	t.Helper()
	return newDeskNotify(t, apiURL, maxBytes, false)
}

// newDeskNotify is newDesk whose core posts every ticket's activity for the staff chat's
// topics when threads is set, as the daemon does.
func newDeskNotify(t *testing.T, apiURL string, maxBytes int64, threads bool) *desk {
	t.Helper()
	db := teststore.Open(t)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{MaxAttachmentBytes: maxBytes,
		Notify: core.NotifyOptions{Email: true, Telegram: true, StaffEmails: []string{"desk@provider.test"}, StaffChatID: staffChat,
			StaffThreads: threads}})
	sys := core.System()
	for _, id := range []int64{1, 2} {
		if _, err := svc.PutAccount(ctx, sys, core.Account{ID: id, Name: fmt.Sprint("Account ", id)}); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[string]string{}
	for _, u := range []core.User{
		{ID: 1, Email: "ann@customer.test", Name: "Ann", AccountIDs: []int64{1}},
		{ID: 2, Email: "bob@customer.test", Name: "Bob", AccountIDs: []int64{2}},
		{ID: 9, Email: "sam@provider.test", Name: "Sam", Role: core.RoleStaff},
	} {
		if _, err := svc.PutUser(ctx, sys, u); err != nil {
			t.Fatal(err)
		}
		_, key, err := svc.CreateAPIKey(ctx, sys, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		keys[strings.ToLower(u.Name)] = key
	}
	b := make([]byte, 8)
	rand.Read(b)
	token := "1:" + hex.EncodeToString(b) // a bot of its own on the shared emulator
	d := &desk{t: t, db: db, svc: svc, keys: keys, emails: &recorder{}, token: token, url: apiURL}
	d.pipe = gateway.NewPipeline(svc, db, gateway.PipelineOptions{Address: "support@helpdesk.test"})
	d.api = httptest.NewServer(httpapi.New(svc, httpapi.Options{TelegramBot: "helpdesk_bot",
		LinkTelegram: func(ctx context.Context, u *core.User) (string, time.Time, error) {
			return svc.CreateTelegramLink(ctx, core.Actor{User: u, Channel: core.ChannelAPI})
		}}))
	t.Cleanup(d.api.Close)
	d.e = &emu{t: t, url: apiURL, token: token, history: map[int64][]botMsg{}, read: map[int64]int{}}
	d.e.ticketOf = func(chat, message int64) int64 {
		id, err := d.db.TelegramMessageTicket(ctx, chat, message)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	d.opts = telegram.Options{Token: token, APIURL: apiURL, StaffChatID: staffChat, DeskName: "Example Hosting",
		PollTimeout: time.Second, RetryDelay: 50 * time.Millisecond, IdleDelay: 20 * time.Millisecond,
		Pace: telegram.Pace{PerChat: time.Millisecond, PerGroup: time.Millisecond, Overall: time.Microsecond},
		Logger: slog.New(slog.NewTextHandler(testLog{t: t, secrets: append(slices.Collect(maps.Values(keys)), token)},
			&slog.HandlerOptions{Level: slog.LevelDebug}))}
	return d
}

// start runs the gateway and the dispatcher until stop (or the test's end).
func (d *desk) start() {
	d.t.Helper()
	gw, err := telegram.New(d.svc, d.pipe, d.db, d.opts)
	if err != nil {
		d.t.Fatal(err)
	}
	d.gw = gw
	disp := gateway.NewDispatcher(d.db, d.db, map[core.Channel]gateway.Sender{
		core.ChannelTelegram: gw.Sender(), core.ChannelEmail: d.emails}, nil,
		gateway.DispatcherOptions{PollInterval: 20 * time.Millisecond, BaseDelay: 50 * time.Millisecond, Logger: d.opts.Logger})
	runCtx, cancel := context.WithCancel(ctx)
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); gw.Run(runCtx) }()
		go func() { defer wg.Done(); disp.Run(runCtx) }()
		wg.Wait()
		gw.Close()
	}()
	d.t.Cleanup(d.stop)
}

func (d *desk) stop() {
	if d.cancel != nil {
		d.cancel()
		<-d.done
		d.cancel = nil
		// The emulator keeps a long poll the stopped gateway gave up on until the poll's
		// timeout, and hands the next update to it, where it is lost: Telegram would send it
		// again to the next poll from the same offset, the emulator does not. Let that poll
		// run out before anything else is said to the bot.
		time.Sleep(d.opts.PollTimeout + 200*time.Millisecond)
	}
}

// call makes a REST API call as a user ("ann", "sam") and decodes the envelope's data.
func (d *desk) call(method, path, who string, body any, data any) int {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.api.URL+path, rd)
	req.Header.Set("X-API-Key", d.keys[who])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if data != nil {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			d.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
		json.Unmarshal(env.Data, data)
	}
	return resp.StatusCode
}

// link links a Telegram user to a helpdesk user the way a customer does: a code from
// POST /api/Telegram/Link, then /start <code> in the bot's chat.
func (d *desk) link(who string, account int64, u tgUser) {
	d.t.Helper()
	var out struct {
		Code string `json:"code"`
		Link string `json:"link"`
	}
	if code := d.call("POST", fmt.Sprintf("/api/Telegram/Link?accountId=%d", account), who, nil, &out); code != 200 {
		d.t.Fatalf("link code: status %d", code)
	}
	if !strings.HasPrefix(out.Link, "https://t.me/helpdesk_bot?start=") || out.Code == "" {
		d.t.Fatalf("deep link %q, code %q", out.Link, out.Code)
	}
	d.e.say(u, "/start "+out.Code, nil)
	d.e.expect(u.Chat, "is now linked to")
}

type apiMessage struct {
	ID          int64        `json:"id"`
	Author      core.Author  `json:"author"`
	Channel     core.Channel `json:"channel"`
	Message     string       `json:"message"`
	Attachments []struct {
		ID          int64  `json:"id"`
		FileName    string `json:"fileName"`
		Size        int64  `json:"size"`
		ContentType string `json:"contentType"`
	} `json:"attachments"`
}

type apiTicket struct {
	ID       int64        `json:"id"`
	Subject  string       `json:"subject"`
	Status   core.Status  `json:"status"`
	Topic    core.Topic   `json:"topic"`
	Messages []apiMessage `json:"messages"`
}

func (d *desk) ticket(who string, account, id int64) apiTicket {
	d.t.Helper()
	var t apiTicket
	if code := d.call("GET", fmt.Sprintf("/api/Ticket/%d?accountId=%d", id, account), who, nil, &t); code != 200 {
		d.t.Fatalf("GET ticket %d: status %d", id, code)
	}
	return t
}

// counts is how many tickets and messages the database holds.
func (d *desk) counts() (tickets, messages int) {
	d.t.Helper()
	for _, acct := range []int64{1, 2} {
		list, _, err := d.svc.ListTickets(ctx, core.Actor{User: &core.User{ID: 9, Role: core.RoleStaff}}, core.TicketFilter{AccountID: acct, Page: core.Page{Number: 1, Size: 100}})
		if err != nil {
			d.t.Fatal(err)
		}
		tickets += len(list)
		for _, t := range list {
			messages += t.MessageCount
		}
	}
	return tickets, messages
}

package telegram

import (
	"context"
	"encoding/json"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"net"
	"slices"
	"strings"
	"testing"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
	"github.com/helpdeskd/helpdeskd/gateway/lang"
)

// The bot's answers in the user's language, at the handlers: no Bot API is called, so the
// gateway points at an address nothing listens on.

const langStaffChat = -1001

type langDesk struct {
	t  *testing.T
	db teststore.Store
	g  *Bot
	id int64 // the last update's ID
}

// newLangDesk is a desk whose bot answers in def by default, with ana (Spanish, Telegram
// 101), lea (no language of her own, Telegram 102) and the staff user sasha (Russian,
// Telegram 109) linked.
func newLangDesk(t *testing.T, def string) *langDesk {
	t.Helper()
	ctx := context.Background()
	db := teststore.Open(t)
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	sys := core.System()
	if _, err := svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Account 1"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		user core.User
		tg   int64
	}{
		{core.User{ID: 1, Email: "ana@customer.test", Name: "Ana", AccountIDs: []int64{1}, Language: "es"}, 101},
		{core.User{ID: 2, Email: "lea@customer.test", Name: "Lea", AccountIDs: []int64{1}}, 102},
		{core.User{ID: 9, Email: "sasha@provider.test", Name: "Sasha", Role: core.RoleStaff, Language: "ru"}, 109},
	} {
		user, err := svc.PutUser(ctx, sys, u.user)
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := svc.CreateTelegramLink(ctx, core.Actor{User: user, Channel: core.ChannelAPI})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LinkTelegram(ctx, code, u.tg); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := "http://" + ln.Addr().String()
	ln.Close()
	pipe := gateway.NewPipeline(svc, db, gateway.PipelineOptions{Address: "support@helpdesk.test"})
	g, err := New(svc, pipe, db, Options{Token: "1:lang", APIURL: api, StaffChatID: langStaffChat,
		DeskName: "Example Hosting", DefaultLanguage: def})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return &langDesk{t: t, db: db, g: g}
}

// finish stores the update's dialogue as handle does, so the next update sees it.
func (d *langDesk) finish(r *result) {
	d.t.Helper()
	state := ""
	if r.user != 0 && r.dialogue != nil {
		b, err := json.Marshal(r.dialogue)
		if err != nil {
			d.t.Fatal(err)
		}
		state = string(b)
	}
	if err := d.db.FinishTelegramUpdate(context.Background(), d.id, r.user, state, updateKeep); err != nil {
		d.t.Fatal(err)
	}
}

// say is a private message from Telegram user from, whose client is in languageCode.
func (d *langDesk) say(from int64, languageCode, text string) *result {
	d.t.Helper()
	d.id++
	var r result
	m := &tele.Message{ID: int(d.id), Text: text, Sender: &tele.User{ID: from, LanguageCode: languageCode},
		Chat: &tele.Chat{ID: from, Type: tele.ChatPrivate}}
	if err := d.g.onMessage(context.Background(), d.id, m, &r); err != nil {
		d.t.Fatal(err)
	}
	d.finish(&r)
	return &r
}

// tap is a tap on a button with data under a bot message in from's private chat.
func (d *langDesk) tap(from int64, languageCode, data string) *result {
	d.t.Helper()
	d.id++
	var r result
	cb := &tele.Callback{ID: "cb" + itoa(d.id), Data: data, Sender: &tele.User{ID: from, LanguageCode: languageCode},
		Message: &tele.Message{ID: 1, Chat: &tele.Chat{ID: from, Type: tele.ChatPrivate}}}
	if err := d.g.onCallback(context.Background(), d.id, cb, &r); err != nil {
		d.t.Fatal(err)
	}
	d.finish(&r)
	return &r
}

// only is the update's one answer.
func only(t *testing.T, r *result) message {
	t.Helper()
	if len(r.answers) != 1 {
		t.Fatalf("want one answer, got %d: %+v", len(r.answers), r.answers)
	}
	return r.answers[0]
}

func labels(rows [][]button) []string {
	var out []string
	for _, row := range rows {
		for _, b := range row {
			out = append(out, b.Text)
		}
	}
	return out
}

func TestLanguage_LinkedUserInSpanish(t *testing.T) {
	d := newLangDesk(t, "en")
	const ana = 101

	// /new: the question, every topic and the cancel button in Spanish.
	m := only(t, d.say(ana, "en", "/new"))
	if m.text != "Nueva solicitud. ¿Sobre qué es?" {
		t.Errorf("/new asks %q", m.text)
	}
	var want []string
	for _, topic := range core.Topics {
		want = append(want, lang.TopicLabel("es", int(topic)))
	}
	want = append(want, "Cancelar")
	if got := labels(m.buttons); !slices.Equal(got, want) {
		t.Errorf("/new buttons %q, want %q", got, want)
	}
	if got := m.buttons[1][1].Text; got != "Facturación" {
		t.Errorf("topic 3 is %q", got)
	}
	m = only(t, d.tap(ana, "en", "topic:3"))
	if want := lang.Textf("es", "bot.topic_set", "Facturación", core.MaxSubjectChars); m.text != want {
		t.Errorf("topic chosen: %q, want %q", m.text, want)
	}
	if m := only(t, d.tap(ana, "en", "cancel")); m.text != "Cancelado. No se ha enviado nada." {
		t.Errorf("cancel: %q", m.text)
	}

	// /tickets before there are any, then a plain message: new ticket or reply?
	if m := only(t, d.say(ana, "en", "/tickets")); m.text != lang.Text("es", "bot.no_tickets") {
		t.Errorf("/tickets with none: %q", m.text)
	}
	m = only(t, d.say(ana, "en", "El certificado ha caducado"))
	if m.text != "¿Es una nueva solicitud?" {
		t.Errorf("plain message asks %q", m.text)
	}
	if got := labels(m.buttons); !slices.Equal(got, []string{"Nueva solicitud", "Cancelar"}) {
		t.Errorf("plain message buttons %q", got)
	}
	m = only(t, d.tap(ana, "en", "new"))
	if m.ticket == 0 || m.text != lang.Textf("es", "bot.ticket_opened_now", m.ticket, "El certificado ha caducado") {
		t.Errorf("new ticket: %q (ticket %d)", m.text, m.ticket)
	}
	ticket := m.ticket

	// Now there is an open ticket to reply to.
	m = only(t, d.say(ana, "en", "Sigue sin funcionar"))
	if m.text != lang.Text("es", "bot.ask_new_or_reply") {
		t.Errorf("plain message with an open ticket asks %q", m.text)
	}
	if got, want := labels(m.buttons), []string{"Nueva solicitud", "Responder a #" + itoa(ticket) + " El certificado ha caducado", "Cancelar"}; !slices.Equal(got, want) {
		t.Errorf("plain message buttons %q, want %q", got, want)
	}
	if m := only(t, d.tap(ana, "en", "pick:"+itoa(ticket))); m.text != lang.Textf("es", "bot.added", ticket) {
		t.Errorf("reply: %q", m.text)
	}

	// /tickets lists it with its status in Spanish.
	m = only(t, d.say(ana, "en", "/tickets"))
	for _, s := range []string{"Sus solicitudes abiertas:", "#" + itoa(ticket) + " El certificado ha caducado — Abierto",
		lang.Text("es", "bot.tickets_foot")} {
		if !strings.Contains(m.text, s) {
			t.Errorf("/tickets lacks %q:\n%s", s, m.text)
		}
	}

	// /ticket N: the fields, the authors and the buttons.
	m = only(t, d.say(ana, "en", "/ticket "+itoa(ticket)))
	for _, s := range []string{"Estado: Abierto · Categoría: General", "— Usted, "} {
		if !strings.Contains(m.text, s) {
			t.Errorf("/ticket lacks %q:\n%s", s, m.text)
		}
	}
	if got := labels(m.buttons); !slices.Equal(got, []string{"Responder", "Cerrar"}) {
		t.Errorf("/ticket buttons %q", got)
	}
	if m := only(t, d.say(ana, "en", "/ticket 999")); m.text != lang.Textf("es", "bot.not_found", 999) {
		t.Errorf("/ticket of another: %q", m.text)
	}

	// The help: commands stay English, what they do is Spanish.
	m = only(t, d.say(ana, "en", "/frobnicate"))
	if !strings.HasPrefix(m.text, "No conozco el comando /frobnicate.") || !strings.Contains(m.text, "/tickets – sus solicitudes abiertas") {
		t.Errorf("unknown command:\n%s", m.text)
	}
}

func TestLanguage_UnlinkedUserInTheirClientsLanguage(t *testing.T) {
	d := newLangDesk(t, "en")
	const stranger = 200

	m := only(t, d.say(stranger, "ru", "Здравствуйте"))
	if want := lang.Textf("ru", "bot.explain", "Example Hosting"); m.text != want {
		t.Errorf("explanation: %q, want %q", m.text, want)
	}
	if !strings.HasPrefix(m.text, "Это служба поддержки Example Hosting.") {
		t.Errorf("not Russian: %q", m.text)
	}
	if m := only(t, d.say(stranger, "ru-RU", "/start bad-code")); m.text != lang.Text("ru", "bot.link_code_invalid") {
		t.Errorf("bad code: %q", m.text)
	}
	r := d.tap(stranger, "ru", "new")
	if r.callbackText != "Сначала привяжите аккаунт Telegram." || only(t, r).text != lang.Textf("ru", "bot.explain", "Example Hosting") {
		t.Errorf("tap: %q, %+v", r.callbackText, r.answers)
	}
}

func TestLanguage_Fallbacks(t *testing.T) {
	// A client language the desk does not ship gets the desk's default.
	d := newLangDesk(t, "en")
	m := only(t, d.say(200, "pt-BR", "Olá"))
	if want := lang.Textf("en", "bot.explain", "Example Hosting"); m.text != want {
		t.Errorf("pt-BR, default en: %q", m.text)
	}
	if m := only(t, d.say(200, "pt-BR", "/start bad-code")); m.text != "This link code is unknown, used or expired. Create a new one in the panel." {
		t.Errorf("pt-BR bad code: %q", m.text)
	}

	d = newLangDesk(t, "es-MX")
	if m := only(t, d.say(200, "pt-BR", "Olá")); m.text != lang.Textf("es", "bot.explain", "Example Hosting") {
		t.Errorf("pt-BR, default es-MX: %q", m.text)
	}
	// A linked user without a language of her own gets the desk's, not her client's.
	if m := only(t, d.say(102, "ru", "/help")); m.text != lang.Text("es", "bot.help") {
		t.Errorf("lea, default es-MX: %q", m.text)
	}
	// A linked user's own language wins over her client's.
	if m := only(t, d.say(101, "bg", "/cancel")); m.text != lang.Text("es", "bot.cancelled") {
		t.Errorf("ana with a Bulgarian client: %q", m.text)
	}
}

func TestLanguage_StaffChat(t *testing.T) {
	d := newLangDesk(t, "bg")
	ctx := context.Background()
	const post = 77 // a ticket's post in the staff chat
	d.say(101, "es", "Factura duplicada")
	ticket := only(t, d.tap(101, "es", "new")).ticket
	if err := d.db.RememberTelegramMessage(ctx, langStaffChat, post, ticket); err != nil {
		t.Fatal(err)
	}
	reply := func(from int64, languageCode string) message {
		t.Helper()
		d.id++
		var r result
		m := &tele.Message{ID: int(d.id), Text: "ok", Sender: &tele.User{ID: from, LanguageCode: languageCode},
			Chat: &tele.Chat{ID: langStaffChat, Type: tele.ChatSuperGroup}, ReplyTo: &tele.Message{ID: post}}
		if err := d.g.onMessage(ctx, d.id, m, &r); err != nil {
			t.Fatal(err)
		}
		return only(t, &r)
	}
	// A stranger in the staff chat: the desk's language, whatever their client says.
	if m := reply(300, "ru"); m.text != lang.Textf("bg", "bot.staff_not_linked", ticket) {
		t.Errorf("stranger: %q", m.text)
	}
	// A customer there: her own language.
	if m := reply(101, "en"); m.text != lang.Textf("es", "bot.staff_only", ticket) {
		t.Errorf("customer: %q", m.text)
	}
	// Staff: their own language.
	if m := reply(109, "en"); m.text != lang.Textf("ru", "bot.added", ticket) {
		t.Errorf("staff: %q", m.text)
	}
}

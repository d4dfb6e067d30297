package reply

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The patterns below are matched against one trimmed line, or against two or three lines
// joined with a space, because Gmail and Outlook wrap a long attribution wherever the address
// happens to fall. Go's \b only knows ASCII letters, so next to accented or non-Latin words
// the patterns use \s or nothing instead.

// addr matches an address in angle brackets, also when the wrap left a space inside it
// ("<test@example.com >:") or nested it ("<a@b<mailto:a@b>>").
const addr = `<[^<>]*@[^<>]*(?:<[^<>]*>)?[^<>]*>+`

// verbs are the "wrote" of each language as it ends the attribution (before the colon),
// lower case: French, Spanish, Catalan, Portuguese, Italian, Dutch, German, Scandinavian,
// Finnish, Polish, Czech, Russian, Ukrainian, Bulgarian, Turkish, Hungarian, Vietnamese,
// Chinese, Japanese, Korean. They are compared as plain strings: a regular expression with
// all of them costs more than the rest of Visible together.
var verbs = []string{
	"wrote", "writes", "a écrit", "escribió", "escribio", "escribieron", "ha escrit", "va escriure",
	"escreveu", "ha scritto", "schreef", "schrieb", "skrev", "kirjoitti", "napisał(a)", "napisała",
	"napisał", "napisal", "pisze", "napsal(a)", "napsala", "napsal", "написал(а)", "написала",
	"написал", "написав(ла)", "написав", "написа", "пише", "пишет", "yazdı", "írta", "đã viết",
	"写道", "寫道", "のメッセージ", "작성", "書きました",
}

// verbsBeforeName are the verbs that come before the writer's name: German "Am … schrieb
// Bob:", Dutch "Op … schreef Bob <b@x>:", Scandinavian "… kl. 13:09 skrev Bob <b@x>:".
var verbsBeforeName = []string{" schrieb ", " schreef ", " skrev ", " kirjoitti ", " napsal "}

// Patterns for the attributions whose shape a plain string test cannot tell. Each is anchored
// at both ends: a line that merely contains "wrote:" in prose is not an attribution.
var (
	// English, Apple Mail, Gmail, Thunderbird: "On Mon, Jan 5, 2026 at 10:00, Bob <b@x> wrote:",
	// older clients without the colon but with a date, and Zoho's
	// "---- On Wed, 24 Feb 2021 14:02:50 +0530 john@x wrote ----".
	englishRe = regexp.MustCompile(`(?i)^(?:On\s.+\s(?:wrote|writes|sent)\s*:|On\s.*\d.*\swrote|-{2,}\s*On\s.+\swrote\s*-{2,})$`)
	// Address forms: new German Gmail "Bob <b@x> schrieb am Mo., 5. Jan. 2026, 10:00:", Dutch
	// Outlook "Bob <b@x> schreef op 12 dec. 2016 10:00:", Hungarian Gmail "Bob <b@x> ezt írta
	// (időpont: 2026. jan. 5., H, 10:00):", and date-first without a verb: Gmail
	// "2017-11-24 16:32 GMT+01:00 Bob <b@x>:", Russian webmail "30.09.2017, 18.30, "Bob" <b@x>:".
	addressRe = regexp.MustCompile(`(?i)^(?:.*` + addr + `\s*schrieb\s+am\s.+|.*\sschreef\s+op\s.*\d.*|.+\sezt\s+írta\s*\(.+\)\s*|.*(?:\d{1,2}[:.]\d{2}|\d{4}).*` + addr + `\s*)[:：]$`)
	// nameAddrRe is the name and address in front of a verb: "Bob <b@x> wrote:".
	nameAddrRe = regexp.MustCompile(`^.*` + addr + `\)?$`)
	// weakRe, old Gmail "2013/11/1 John Smith <john@smith.org>", needs a quote right below to
	// count: without the colon or the verb it could be prose.
	weakRe = regexp.MustCompile(`^\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\s.+` + addr + `$`)
	// sameLineRe finds an attribution that shares its line with the end of the reply
	// ("Thanks! On Mon, … wrote:"): the reply is the part up to the end of a sentence.
	sameLineRe = regexp.MustCompile(`^(.*?[.!?…])\s+(?:On|Am|Le|El|Em|Op|Il|In data|W dniu|Dnia|Dne|Den|Vào)\s`)
)

// isAttribution reports whether a (one line, or wrapped lines joined by spaces) is an
// attribution. weak is set when only its shape speaks for it and a quote must follow.
func isAttribution(a string) (ok, weak bool) {
	la := strings.ToLower(a)
	if strings.HasPrefix(la, "on ") || strings.HasPrefix(la, "--") {
		if englishRe.MatchString(a) {
			return true, false
		}
	}
	body := strings.TrimRight(la, " ")
	if strings.HasSuffix(body, ":") || strings.HasSuffix(body, "：") {
		body = strings.TrimRight(strings.TrimSuffix(strings.TrimSuffix(body, ":"), "："), " ")
		for _, v := range verbs {
			if !strings.HasSuffix(body, v) {
				continue
			}
			before := body[:len(body)-len(v)]
			if r, _ := utf8.DecodeLastRuneInString(before); r < 0x250 && unicode.IsLetter(r) {
				continue // "rewrote", not "wrote"
			}
			// "W dniu … 13:09 Bob <b@x> napisał:" or "Test user <t@x> schrieb:"; "In my ticket
			// 1234 I wrote:" is prose.
			if strings.ContainsAny(before, "0123456789") && (hasOpener(a) || hasDateStart(a) || strings.Contains(before, "@")) ||
				nameAddrRe.MatchString(strings.TrimRight(before, " ")) {
				return true, false
			}
		}
		for _, v := range verbsBeforeName {
			if i := strings.Index(body, v); i > 0 && strings.ContainsAny(body[:i], "0123456789") &&
				!strings.ContainsAny(body[i+len(v):], ":：") && (hasOpener(a) || hasDateStart(a)) {
				return true, false
			}
		}
		if strings.Contains(a, "@") || strings.Contains(la, "írta") {
			if addressRe.MatchString(a) {
				return true, false
			}
		}
		return false, false
	}
	if strings.HasSuffix(a, ">") && weakRe.MatchString(a) {
		return true, true
	}
	return false, false
}

// openers are the first words of an attribution in the languages that start it with a
// preposition ("On …", "Am …", "Le …"). A line that starts with one begins an attribution
// rather than continuing the reply.
var openers = []string{
	"on", "am", "le", "el", "em", "no dia", "op", "il", "in data", "w dniu", "dnia", "dne",
	"den", "på", "vào", "在", "---- on", "-----on",
}

func hasOpener(t string) bool {
	lt := strings.ToLower(t)
	for _, o := range openers {
		if strings.HasPrefix(lt, o) {
			rest := lt[len(o):]
			if rest == "" {
				return true
			}
			r, _ := utf8.DecodeRuneInString(rest)
			if unicode.IsSpace(r) || o == "在" {
				return true
			}
		}
	}
	return false
}

// hasDateStart reports a line that starts with a date or a short weekday ("tir. 18. apr.",
// "pe 20. lokakuuta", "ср, 30 апр."), as Gmail writes attributions in many languages.
func hasDateStart(t string) bool {
	r, size := utf8.DecodeRuneInString(t)
	if unicode.IsDigit(r) {
		return true
	}
	n := 0
	for unicode.IsLetter(r) && n < 6 {
		n++
		t = t[size:]
		r, size = utf8.DecodeRuneInString(t)
	}
	if n == 0 || n > 4 {
		return false
	}
	t = strings.TrimLeft(t, ".,")
	t = strings.TrimLeft(t, " ")
	r, _ = utf8.DecodeRuneInString(t)
	return unicode.IsDigit(r)
}

// mayEndAttribution is a cheap filter: only a line ending like an attribution is worth the
// regular expressions.
func mayEndAttribution(t string) bool {
	if t == "" || len(t) > 400 {
		return false
	}
	if strings.HasSuffix(t, "：") {
		return true
	}
	switch t[len(t)-1] {
	case ':', '-', '>':
		return true
	}
	return len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "wrote")
}

// separatorRe is the line Outlook and other clients put above the header block of the
// message replied to.
var separatorRe = regexp.MustCompile(`(?i)^-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|message original|mensaje original|messaggio originale|oorspronkelijk bericht|origineel bericht|oprindelig meddelelse|oprindelig besked|opprinnelig melding|originalmeddelande|ursprungligt meddelande|alkuperäinen viesti|wiadomość oryginalna|oryginalna wiadomość|původní zpráva|исходное сообщение|оригинално съобщение|оригінальне повідомлення|вихідне повідомлення|orijinal mesaj|özgün ileti|mensagem original|missatge original|eredeti üzenet|eredeti levél|原始邮件|原始郵件|元のメッセージ|원본 메시지|thư gốc)\s*-{2,}$`)

// forwardRe marks a forwarded message: what follows is the content the customer sends us,
// not history, so nothing below it is cut.
var forwardRe = regexp.MustCompile(`(?i)^(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|videresendt meddelelse|videresendt melding|vidarebefordrat meddelande|välitetty viesti|przekazana wiadomość|wiadomość przekazana|přeposlaná zpráva|пересылаемое сообщение|пересланное сообщение|переслане повідомлення|препратено съобщение|iletilen mesaj|mensagem encaminhada|missatge reenviat|továbbított üzenet|转发的邮件|轉寄的郵件|転送されたメッセージ|전달된 메시지|thư được chuyển tiếp)\s*-*|begin forwarded message\s*:|anfang der weitergeleiteten nachricht\s*:|début du message réexpédié\s*:|inicio del mensaje reenviado\s*:|inizio messaggio inoltrato\s*:|início da mensagem reencaminhada\s*:|doorgestuurd bericht\s*:)$`)

// ruleRe is a line of only rule characters, as Outlook ("____") and webmails ("====") draw
// above the quoted header block.
var ruleRe = regexp.MustCompile(`^[-_=~*]{3,}$`)

// Header keys of the block ("From: … Sent: … To: … Subject: …") that Outlook, webmails and
// Android clients write above the message replied to, lower case, in the languages we serve.
var (
	fromKeys = keySet("from", "von", "de", "van", "da", "fra", "från", "od", "от", "від", "kimden",
		"lähettäjä", "feladó", "từ", "发件人", "寄件者", "差出人", "보낸 사람", "remitente", "mittente",
		"afzender", "avsändare", "message du", "absender", "expéditeur", "de la", "nadawca", "odesílatel",
		"отправитель", "подател", "kimden", "remetente", "emissor")
	otherKeys = keySet("sent", "date", "to", "subject", "cc", "bcc", "reply-to", "gesendet", "an",
		"betreff", "datum", "kopie", "envoyé", "envoyé le", "à", "a", "objet", "copie à", "sujet",
		"cc ", "enviado", "enviado el", "fecha", "para", "asunto", "inviato", "data", "oggetto",
		"verzonden", "aan", "onderwerp", "skickat", "till", "ämne", "sendt", "til", "emne", "dato",
		"wysłano", "wysłane", "do", "temat", "odesláno", "komu", "předmět", "отправлено", "дата",
		"кому", "тема", "копия", "надіслано", "gönderildi", "gönderilme", "kime", "konu", "tarih",
		"lähetetty", "vastaanottaja", "aihe", "päivämäärä", "elküldve", "címzett", "tárgy", "dátum",
		"đã gửi", "đến", "chủ đề", "ngày", "发送时间", "收件人", "主题", "日期", "寄件日期", "收件者",
		"主旨", "日付", "送信日時", "宛先", "件名", "보낸 날짜", "받는 사람", "제목", "날짜", "enviat",
		"per a", "assumpte", "assunto", "изпратено", "до", "відправлено", "envoyé par", "a :", "recipient")
)

func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// The regular expressions run only on lines that can match, the cost of Visible is in them.
func isForward(t string) bool {
	return (t[0] == '-' || t[len(t)-1] == ':') && forwardRe.MatchString(t)
}

func isSeparator(t string) bool { return t[0] == '-' && separatorRe.MatchString(t) }

func isRule(t string) bool { return strings.ContainsRune("-_=~*", rune(t[0])) && ruleRe.MatchString(t) }

// headerKey returns the lower-case key of a "Key: value" line ("*From:* …" in Outlook's
// plain text of bold, "De :" with the French space), or "" when the line is not one.
func headerKey(t string) string {
	t = strings.TrimLeft(t, "*")
	if len(t) > 48 {
		t = t[:48]
	}
	i := strings.IndexByte(t, ':')
	if j := strings.Index(t, "："); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i <= 0 || i > 40 {
		return ""
	}
	k := strings.TrimRight(t[:i], "* \t\u00a0")
	return strings.ToLower(k)
}

// headerBlockAt reports whether a quoted-message header block starts at lines[i]: several
// header lines together, one of them From-like and one Sent/Date/To/Subject-like. A single
// "Note: …" line, or a From: alone, is the customer's text. forward is set when the block's
// subject says the message is forwarded ("FW:", "WG:", "TR:" …): then it is content.
func headerBlockAt(lines []string, i int) (block, forward bool) {
	k := headerKey(strings.TrimSpace(lines[i]))
	if !fromKeys[k] && !otherKeys[k] {
		return false, false
	}
	var from, other, sure bool
	n := 0
	for j := i; j < len(lines) && j < i+12; j++ {
		t := strings.TrimSpace(strings.ReplaceAll(lines[j], "\u00a0", " "))
		k := headerKey(t)
		switch {
		case fromKeys[k]:
			from = true
			sure = sure || strings.ContainsAny(t, "@<[")
		case otherKeys[k]:
			other = true
			sure = sure || !recipientKeys[k]
			forward = forward || subjectKeys[k] && forwardSubject(t)
		case n > 0 && (strings.HasPrefix(t, "<") || strings.HasPrefix(t, "[")) && j == i+1:
			// The address of a long From: wrapped onto its own line.
			continue
		default:
			j = len(lines)
			continue
		}
		n++
	}
	// "From: Monday / To: Friday" is a plan, not a header: two lines need an address or a
	// Sent/Date/Subject to be one.
	block = from && other && (n >= 3 || n >= 2 && sure)
	return block, block && forward
}

func isHeaderBlock(lines []string, i int) bool {
	block, _ := headerBlockAt(lines, i)
	return block
}

// recipientKeys are the "To:" keys, common words in prose ("To: Friday").
var recipientKeys = keySet("to", "an", "à", "a", "aan", "para", "do", "til", "till", "kime", "komu",
	"кому", "до", "cc", "per a", "đến", "收件人", "收件者", "宛先", "받는 사람", "címzett", "vastaanottaja", "a :")

var subjectKeys = keySet("subject", "betreff", "objet", "sujet", "asunto", "oggetto", "onderwerp",
	"ämne", "emne", "assunto", "temat", "předmět", "тема", "konu", "aihe", "tárgy", "assumpte", "chủ đề",
	"主题", "主旨", "件名", "제목")

// forwardSubject reports a subject line whose value starts with a forward prefix.
func forwardSubject(t string) bool {
	i := strings.IndexAny(t, ":：")
	v := strings.ToLower(strings.TrimLeft(t[i+1:], " *\u00a0"))
	for _, p := range []string{"fw:", "fwd:", "fw :", "fwd :", "wg:", "tr:", "tr :", "rv:", "i:", "vs:", "vb:", "enc:", "doorst:", "pd:", "пересл:", "转发：", "转发:", "轉寄：", "fs:"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// hasDateOrAddress reports a time ("10:00", "17.45"), a year ("2026") or an address: what
// every real attribution carries and prose rarely does all at once.
func hasDateOrAddress(s string) bool {
	if strings.Contains(s, "@") {
		return true
	}
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			run++
			if run == 4 && (s[i-3] == '1' && s[i-2] == '9' || s[i-3] == '2' && s[i-2] == '0') {
				return true
			}
			continue
		}
		if run >= 1 && run <= 2 && (c == ':' || c == '.') && i+2 < len(s) &&
			isDigit(s[i+1]) && isDigit(s[i+2]) && (i+3 == len(s) || !isDigit(s[i+3])) {
			return true
		}
		run = 0
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

package reply

import (
	"regexp"
	"strings"
)

// mobileSignatures match the line a phone or mail app appends on its own ("Sent from my
// iPhone", "Von meinem iPhone gesendet", "Get Outlook for iOS"). It must be the whole line
// and short: "The notification was sent from my iPhone app" is the customer speaking. Each
// pattern runs only on lines that start (or end) with one of its words, as a regular
// expression is slow on the many lines it cannot match.
var mobileSignatures = []struct {
	first, last []string
	re          *regexp.Regexp
}{
	{
		// "<verb> <preposition> <app or device>" in most European languages.
		first: []string{"sent ", "envoyé ", "enviado ", "enviada ", "enviat ", "inviato ", "verzonden ",
			"verstuurd ", "skickat ", "sendt ", "gesendet ", "wysłane ", "wysłano ", "odesláno ",
			"odeslané ", "отправлено ", "надіслано ", "изпратено ", "lähetetty ", "gửi "},
		re: mobile(`(?:sent|envoyé|enviado|enviada|enviat|inviato|verzonden|verstuurd|skickat|sendt|gesendet|wysłane|wysłano|odesláno|odeslané|отправлено|надіслано|изпратено|lähetetty|gửi)\s+` +
			`(?:from|via|with|using|on|de|depuis|à partir de|desde|do|da|dal|dalla|dallo|vanaf|vanuit|met|från|fra|von|mit|z|ze|с|со|з|от|des de|des del|từ)\s+.+`),
	},
	{
		first: []string{"get ", "download ", "télécharger ", "obtenir ", "holen ", "outlook ", "scarica ", "descargar "},
		re:    mobile(`(?:get outlook for|download outlook for|télécharger outlook pour|obtenir outlook pour|(?:holen sie sich )?outlook für|scarica outlook per|descargar outlook para) (?:ios|android)(?: beziehen| herunterladen)?`),
	},
	{first: []string{"von meinem "}, re: mobile(`von meinem .+ gesendet`)},
	{first: []string{"lähetetty "}, re: mobile(`lähetetty .+(?:sta|stä|lla|llä)`)},
	{first: []string{"从我的", "發自我的", "发自我的", "来自我的", "從我的"}, re: mobile(`(?:从我的|發自我的|发自我的|来自我的|從我的).+`)},
	// Turkish, Hungarian, Japanese, Korean put the verb last.
	{last: []string{"gönderildi", "gönderildiğim"}, re: mobile(`.+(?:umdan|ımdan|imden|den|dan) gönderildi(?:ğim)?`)},
	{last: []string{"küldve"}, re: mobile(`.+-(?:ról|ről) küldve`)},
	{last: []string{"から送信"}, re: mobile(`.+から送信`)},
	{last: []string{"에서 보냄"}, re: mobile(`.+에서 보냄`)},
}

func mobile(p string) *regexp.Regexp { return regexp.MustCompile(`(?i)^(?:` + p + `)\.?$`) }

func matchMobile(t string) bool {
	lt := strings.TrimSuffix(strings.ToLower(t), ".")
	for _, m := range mobileSignatures {
		gate := false
		for _, w := range m.first {
			gate = gate || strings.HasPrefix(lt, w)
		}
		for _, w := range m.last {
			gate = gate || strings.HasSuffix(lt, w)
		}
		if gate && m.re.MatchString(t) {
			return true
		}
	}
	return false
}

// linkRe is an address Outlook and Windows Mail write into the signature
// ("Sent from Mail<https://go.microsoft.com/…> for Windows 10").
var linkRe = regexp.MustCompile(`<(?:https?|mailto):[^>]*>`)

func isMobileSignature(t string) bool {
	if len(t) > 300 || t == "" {
		return false
	}
	if strings.Contains(t, "<") {
		t = strings.TrimSpace(linkRe.ReplaceAllString(t, " "))
	}
	if len(t) > 90 {
		return false
	}
	// An app or a device has a short name: "my Samsung Galaxy smartphone", "Yahoo Mail on
	// Android". More words make a sentence.
	return len(strings.Fields(t)) <= maxSignatureWords && matchMobile(t)
}

const maxSignatureWords = 8

// maxDashSignature is how many lines may follow a bare "--" for it to be a signature
// separator; a long block after "--" is more likely the writer's own text.
const maxDashSignature = 6

// signatureStart returns the index of the "-- " signature separator in lines, or -1. The
// standard separator cuts whatever follows; a bare "--" only a short block of short lines.
func signatureStart(lines []string) int {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimRight(lines[i], "\r")
		if l == "-- " || l == "--" || strings.TrimSpace(l) == "--" {
			if l == "-- " {
				return i
			}
			n := 0
			for _, r := range lines[i+1:] {
				t := strings.TrimSpace(r)
				if t == "" {
					continue
				}
				n++
				if n > maxDashSignature || len(t) > 80 {
					return -1
				}
			}
			return i
		}
	}
	return -1
}

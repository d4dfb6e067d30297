// Package lang holds the desk's texts in every language it ships: the labels of topics and
// statuses, the words of notifications (mail.go's keys), and the Telegram bot's answers and
// buttons (bot.go's keys). English is complete by definition; another language may lack a
// text, and then that one text is English, never blank.
//
// Texts are looked up by key; a key's text may hold fmt verbs (Textf). Each language is a
// file per part (labels_es.go, mail_es.go, bot_es.go); a part is a plain map.
package lang

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// English is the language every text falls back to.
const English = "en"

// Supported are the languages shipped, English first.
var Supported = []string{English, "es", "ru", "bg"}

// catalog maps a key to its text in one language.
type catalog map[string]string

// parts lists each language's catalogs; a key is looked up in each in turn.
var parts = map[string][]catalog{
	English: {labelsEN, mailEN, botEN},
	"es":    {labelsES, mailES, botES},
	"ru":    {labelsRU, mailRU, botRU},
	"bg":    {labelsBG, mailBG, botBG},
}

// Match picks the shipped language for a BCP 47 tag by its primary language ("es-MX" → "es");
// a tag of no shipped language gives def, and def none gives English.
func Match(tag, def string) string {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	if slices.Contains(Supported, primary) {
		return primary
	}
	if def != "" && def != tag {
		return Match(def, "")
	}
	return English
}

// Has reports whether language (as Match gives it) has a text of its own for key.
func Has(language, key string) bool {
	for _, c := range parts[language] {
		if _, ok := c[key]; ok {
			return true
		}
	}
	return false
}

// Text is key's text in language, else in English; the key itself when English has none
// either, so a forgotten key shows in what it renders instead of vanishing (a test checks
// that no key is missing in English).
func Text(language, key string) string {
	for _, l := range []string{language, English} {
		for _, c := range parts[l] {
			if t, ok := c[key]; ok {
				return t
			}
		}
	}
	return key
}

// Textf is Text formatted with args.
func Textf(language, key string, args ...any) string {
	return fmt.Sprintf(Text(language, key), args...)
}

// Keys lists every key of English, sorted.
func Keys() []string {
	var keys []string
	for _, c := range parts[English] {
		for k := range c {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Missing lists the keys of English that language has no text of its own for.
func Missing(language string) []string {
	var out []string
	for _, k := range Keys() {
		if !Has(language, k) {
			out = append(out, k)
		}
	}
	return out
}

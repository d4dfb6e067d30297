package core

import "strings"

// CanonicalLanguage checks a BCP 47 language tag in the common shape (a primary language of
// two or three letters, then subtags of one to eight letters or digits) and returns it in
// canonical case: "ES-es" → "es-ES", "zh-hant-tw" → "zh-Hant-TW". "" is valid: the desk's
// default. ok is false for anything else.
func CanonicalLanguage(tag string) (canonical string, ok bool) {
	tag = strings.TrimSpace(strings.ReplaceAll(tag, "_", "-"))
	if tag == "" {
		return "", true
	}
	parts := strings.Split(tag, "-")
	if n := len(parts[0]); n < 2 || n > 3 || !isAlpha(parts[0]) || len(tag) > 35 {
		return "", false
	}
	parts[0] = strings.ToLower(parts[0])
	for i, p := range parts[1:] {
		if len(p) < 1 || len(p) > 8 || !isAlnum(p) {
			return "", false
		}
		switch {
		case len(p) == 4 && isAlpha(p): // script
			parts[i+1] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		case len(p) == 2 && isAlpha(p), len(p) == 3 && !isAlpha(p): // region
			parts[i+1] = strings.ToUpper(p)
		default:
			parts[i+1] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, "-"), true
}

func isAlpha(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

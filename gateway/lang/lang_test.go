package lang

import (
	"fmt"
	"strings"
	"testing"
)

// TestCatalogs_Complete: every shipped language has its own text for every English key,
// with the same fmt verbs in the same order, and no text is blank.
func TestCatalogs_Complete(t *testing.T) {
	for _, l := range Supported {
		if m := Missing(l); len(m) > 0 {
			t.Errorf("%s lacks %d texts: %v", l, len(m), m)
		}
		for _, k := range Keys() {
			text := Text(l, k)
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s %s is blank", l, k)
			}
			if got, want := verbs(text), verbs(Text(English, k)); got != want {
				t.Errorf("%s %s has verbs %q, English %q", l, k, got, want)
			}
		}
	}
}

func verbs(s string) string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) {
			out = append(out, s[i:i+2])
			i++
		}
	}
	return fmt.Sprint(out)
}

func TestMatch(t *testing.T) {
	tests := []struct{ tag, def, want string }{
		{"es", "", "es"},
		{"es-MX", "", "es"},
		{"RU", "", "ru"},
		{"pt-BR", "bg", "bg"},
		{"pt-BR", "", "en"},
		{"", "es", "es"},
		{"", "", "en"},
		{"xx", "yy", "en"},
	}
	for _, tt := range tests {
		if got := Match(tt.tag, tt.def); got != tt.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tt.tag, tt.def, got, tt.want)
		}
	}
}

func TestText_FallsBackPerKey(t *testing.T) {
	if got := Text("xx", "status.2"); got != "Resolved" {
		t.Errorf("unknown language: %q", got)
	}
	if got := StatusLabel("es", 2); got != "Resuelto" {
		t.Errorf("es status 2: %q", got)
	}
	if got := Text("es", "no.such.key"); got != "no.such.key" {
		t.Errorf("missing key: %q", got)
	}
}

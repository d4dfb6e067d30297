package core

import "testing"

func TestCanonicalLanguage(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"es", "es", true},
		{"ES", "es", true},
		{"es-es", "es-ES", true},
		{"pt_br", "pt-BR", true},
		{"zh-hant-tw", "zh-Hant-TW", true},
		{"es-419", "es-419", true},
		{"bg", "bg", true},
		{"e", "", false},
		{"english", "", false},
		{"en-", "", false},
		{"en--GB", "", false},
		{"en-GB!", "", false},
		{"1a", "", false},
		{"en-abcdefghi", "", false},
	}
	for _, tt := range tests {
		got, ok := CanonicalLanguage(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalLanguage(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

package core

import (
	"context"
	"slices"
	"testing"
)

// lineTricks are texts that would start a line of their own where a subject or a name is
// shown.
var lineTricks = map[string]string{
	"CR LF":               "Help\r\nStatus: Resolved",
	"LF":                  "Help\nforged",
	"CR":                  "Help\rforged",
	"NUL":                 "Help\x00",
	"vertical tab":        "Help\vx",
	"ESC":                 "Help\x1b[2J",
	"DEL":                 "Help\x7f",
	"NEL":                 "Help\u0085x",
	"C1 CSI":              "Help\u009bx",
	"line separator":      "Help\u2028x",
	"paragraph separator": "Help\u2029x",
}

// Every use case that takes a subject or a name refuses these, naming the field, before
// it touches the store (the service here has none).
func TestOneLineFields_RefusedNamingTheField(t *testing.T) {
	svc := NewService(nil, nil, nil, Options{})
	ctx, sys := context.Background(), System()
	staff := Actor{User: &User{ID: 2, Role: RoleStaff}, Channel: ChannelAPI}
	customer := Actor{User: &User{ID: 3, AccountIDs: []int64{1}}, Channel: ChannelAPI}
	cases := []struct {
		name, field string
		run         func(v string) error
	}{
		{"CreateTicket", "subject", func(v string) error {
			_, err := svc.CreateTicket(ctx, customer, NewTicket{AccountID: 1, Subject: v, Description: "d"})
			return err
		}},
		{"SplitTicket", "subject", func(v string) error { _, err := svc.SplitTicket(ctx, staff, 1, 2, v); return err }},
		{"PutAccount", "name", func(v string) error { _, err := svc.PutAccount(ctx, sys, Account{ID: 1, Name: v}); return err }},
		{"PutUser", "name", func(v string) error {
			_, err := svc.PutUser(ctx, sys, User{ID: 1, Email: "a@b.test", Name: v})
			return err
		}},
		{"PutProperty", "name", func(v string) error {
			_, err := svc.PutProperty(ctx, sys, Property{ID: 1, AccountID: 1, Name: v})
			return err
		}},
		{"PutDepartment", "name", func(v string) error {
			_, err := svc.PutDepartment(ctx, sys, Department{ID: 1, Name: v})
			return err
		}},
	}
	for _, c := range cases {
		for what, v := range lineTricks {
			t.Run(c.name+"/"+what, func(t *testing.T) {
				err := c.run(v)
				if ErrorCode(err) != EINVALID || !slices.Contains(ErrorFields(err), FieldError{Field: c.field, Message: lineControlMsg}) {
					t.Errorf("%q: %v %v, want EINVALID naming %s", v, err, ErrorFields(err), c.field)
				}
			})
		}
	}
}

func TestCleanLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain subject", "plain subject"},
		{"two\nlines", "two lines"},
		{"a\r\nb\x00c\tdone", "a  b c done"},
		{"nel\u0085ls\u2028ps\u2029", "nel ls ps "},
		{"кириллица и 😀", "кириллица и 😀"},
		{"rtl \u202Ekept", "rtl \u202Ekept"},
	}
	for _, tt := range tests {
		if got := CleanLine(tt.in); got != tt.want {
			t.Errorf("CleanLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if hasLineControl(CleanLine(tt.in)) {
			t.Errorf("CleanLine(%q) still holds a control character", tt.in)
		}
	}
}

func TestOneLineField_TabIsASpace(t *testing.T) {
	if got := oneLineField("\tSite\tdown "); got != "Site down" || hasLineControl(got) {
		t.Errorf("oneLineField = %q", got)
	}
}

// File names lose the bidi controls that disguise an extension, and line separators.
func TestSafeFileName_BidiAndLineSeparators(t *testing.T) {
	tests := []struct{ in, want string }{
		{"invoice\u202Egpj.exe", "invoicegpj.exe"},
		{"a\u202Ab\u202Bc\u202Cd\u202De.txt", "abcde.txt"},
		{"\u2066iso\u2067late\u2068d\u2069.pdf", "isolated.pdf"},
		{"mark\u200E\u200F\u061C.doc", "mark.doc"},
		{"line\u2028sep\u2029.txt", "linesep.txt"},
		{"\u202E", "file"},
		{"שלום.txt", "שלום.txt"},
		{"تقرير.pdf", "تقرير.pdf"},
	}
	for _, tt := range tests {
		if got := SafeFileName(tt.in); got != tt.want {
			t.Errorf("SafeFileName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package core

import "testing"

func TestFillPlaceholders(t *testing.T) {
	values := map[string]string{PlaceholderCustomerName: "Ann {{staff.name}}", PlaceholderTicketID: "7",
		PlaceholderTicketSubject: "<b>DNS</b> & MX", PlaceholderStaffName: "Sam"}
	for _, c := range []struct{ body, want string }{
		{"Hi {{customer.name}}", "Hi Ann {{staff.name}}"}, // a value is never filled again
		{"#{{ticket.id}}: {{ ticket.subject }}", "#7: <b>DNS</b> & MX"},
		{"{{{staff.name}}}", "{Sam}"},
		{"{{staff.name}}{{staff.name}}", "SamSam"},
		{"no placeholders {{ or }} here", "no placeholders {{ or }} here"}, // refused on save, kept as written
		{"{{ unknown }}", "{{ unknown }}"},
	} {
		if got := fillPlaceholders(c.body, values); got != c.want {
			t.Errorf("fill %q = %q, want %q", c.body, got, c.want)
		}
	}
}

func TestCheckCanned(t *testing.T) {
	st := func(s Status) *Status { return &s }
	for _, c := range []struct {
		name  string
		in    NewCannedReply
		field string // "" : accepted
	}{
		{"plain", NewCannedReply{Name: "Greeting", Body: "Hi"}, ""},
		{"cyrillic name", NewCannedReply{Name: "Привет_1", Body: "Hi"}, ""},
		{"every placeholder", NewCannedReply{Name: "all", Body: "{{customer.name}} {{ticket.id}} {{ticket.subject}} {{staff.name}}"}, ""},
		{"lone braces", NewCannedReply{Name: "b", Body: "a {{ b"}, ""},
		{"status closed", NewCannedReply{Name: "c", Body: "x", Status: st(StatusClosed)}, ""},
		{"space in name", NewCannedReply{Name: "a b", Body: "x"}, "name"},
		{"empty body", NewCannedReply{Name: "a", Body: ""}, "body"},
		{"unknown placeholder", NewCannedReply{Name: "a", Body: "{{ticket.status}}"}, "body"},
		{"empty placeholder", NewCannedReply{Name: "a", Body: "{{}}"}, "body"},
		{"bad UTF-8", NewCannedReply{Name: "a", Body: "\xff"}, "body"},
		{"status open", NewCannedReply{Name: "a", Body: "x", Status: st(StatusOpen)}, "status"},
	} {
		out, err := checkCanned(c.in)
		var fields []string
		for _, f := range ErrorFields(err) {
			fields = append(fields, f.Field)
		}
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.field != "" && (len(fields) != 1 || fields[0] != c.field):
			t.Errorf("%s: fields %v, want %s", c.name, fields, c.field)
		case c.name == "plain" && out.Name != "greeting":
			t.Errorf("name %q, want it in lower case", out.Name)
		}
	}
}

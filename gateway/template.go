package gateway

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/helpdeskd/helpdeskd/core"
)

// Notifications are rendered from named templates: for each kind, "<kind>.subject",
// "<kind>.text" and "<kind>.telegram" (text/template, in templates/<kind>.text.tmpl) and
// "<kind>.html" (html/template, in templates/<kind>.html.tmpl); the pieces they share are in
// templates/common.text.tmpl and common.html.tmpl. A directory may override any of these
// files: a file of the same name is parsed after the embedded one, so it redefines the
// templates it defines and leaves the others as shipped.

//go:embed templates/*.tmpl
var embedded embed.FS

// Kinds lists the notification kinds that have templates, in the order docs/email.md
// shows them.
var Kinds = []core.NotificationKind{core.NotifyTicketCreated, core.NotifyNewTicket, core.NotifyStaffReply,
	core.NotifyCustomerReply, core.NotifyStatusChanged, core.NotifyNotice, core.NotifyCloseReminder,
	core.NotifySLAWarning, core.NotifyTicketActivity}

// Formats are the bodies a notification has: the mail's plain text and HTML, and the
// Telegram message.
var Formats = []string{"text", "html", "telegram"}

func knownKind(k core.NotificationKind) bool { return slices.Contains(Kinds, k) }

// Templates is a parsed set of notification templates: the overridden ones and, to fall
// back on when one of those fails at render time, the embedded defaults.
type Templates struct {
	text, html       *textSet
	defText, defHTML *textSet
	// Dir is the override directory ("" for none).
	Dir string
}

// textSet is a text/template or html/template set; exactly one is set.
type textSet struct {
	t *texttemplate.Template
	h *htmltemplate.Template
}

func (s *textSet) execute(name string, data any) (string, error) {
	var b bytes.Buffer
	var err error
	if s.t != nil {
		err = s.t.ExecuteTemplate(&b, name, data)
	} else {
		err = s.h.ExecuteTemplate(&b, name, data)
	}
	return b.String(), err
}

// funcs are the helpers templates may call beside TemplateData's methods.
var funcs = map[string]any{
	// lines splits a text into its lines, for <br> between them in HTML.
	"lines": func(s string) []string { return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") },
	// quote prefixes every line with "> ", as plain-text mail quotes.
	"quote": func(s string) string {
		ls := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
		for i, l := range ls {
			ls[i] = strings.TrimRight("> "+l, " ")
		}
		return strings.Join(ls, "\n")
	},
}

// defaults are the embedded templates, parsed once: they cannot fail but by a bug, which
// every test would show.
var defaults = sync.OnceValue(func() *Templates {
	t, err := LoadTemplates("")
	if err != nil {
		panic("embedded notification templates: " + err.Error())
	}
	return t
})

// DefaultTemplates returns the embedded templates.
func DefaultTemplates() *Templates { return defaults() }

// LoadTemplates parses the embedded templates and then, when dir is not "", the files of
// the same names in dir (others are an error, so a misspelt name does not go unnoticed).
// A file that fails to parse is an error naming it and the line.
func LoadTemplates(dir string) (*Templates, error) {
	names, err := fs.Glob(embedded, "templates/*.tmpl")
	if err != nil {
		return nil, err
	}
	for i := range names {
		names[i] = strings.TrimPrefix(names[i], "templates/")
	}
	overrides := map[string]string{}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("notification templates: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
				continue
			}
			if !slices.Contains(names, e.Name()) {
				return nil, fmt.Errorf("notification templates: %s: no template of this name (known: %s)",
					filepath.Join(dir, e.Name()), strings.Join(names, ", "))
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("notification templates: %w", err)
			}
			overrides[e.Name()] = string(b)
		}
	}
	t := &Templates{Dir: dir}
	for _, html := range []bool{false, true} {
		def, err := parseSet(names, html, nil, "")
		if err != nil {
			return nil, err
		}
		cur := def
		if len(overrides) > 0 {
			if cur, err = parseSet(names, html, overrides, dir); err != nil {
				return nil, err
			}
		}
		if html {
			t.html, t.defHTML = cur, def
		} else {
			t.text, t.defText = cur, def
		}
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

// parseSet parses the embedded files of one engine (html or text) and after each its
// override. Templates are named after their files, so that a parse error reads
// "template: dir/file.tmpl:7: …".
func parseSet(names []string, html bool, overrides map[string]string, dir string) (*textSet, error) {
	suffix := ".text.tmpl"
	if html {
		suffix = ".html.tmpl"
	}
	set := &textSet{}
	if html {
		set.h = htmltemplate.New("").Funcs(funcs).Option("missingkey=error")
	} else {
		set.t = texttemplate.New("").Funcs(funcs).Option("missingkey=error")
	}
	parse := func(name, src string) error {
		var err error
		if html {
			_, err = set.h.New(name).Parse(src)
		} else {
			_, err = set.t.New(name).Parse(src)
		}
		if err != nil {
			return fmt.Errorf("notification templates: %w", err)
		}
		return nil
	}
	for _, name := range names {
		if !strings.HasSuffix(name, suffix) {
			continue
		}
		src, err := embedded.ReadFile("templates/" + name)
		if err != nil {
			return nil, err
		}
		if err := parse("templates/"+name, string(src)); err != nil {
			return nil, err
		}
		if o, ok := overrides[name]; ok {
			if err := parse(filepath.Join(dir, name), o); err != nil {
				return nil, err
			}
		}
	}
	return set, nil
}

// check makes sure every kind has all its templates, so that an override set that lost one
// fails at start, not at each render.
func (t *Templates) check() error {
	var errs []error
	for _, k := range Kinds {
		for _, part := range []string{"subject", "text", "telegram"} {
			if t.text.t.Lookup(string(k)+"."+part) == nil {
				errs = append(errs, fmt.Errorf("notification templates: %s.%s is not defined", k, part))
			}
		}
		if t.html.h.Lookup(string(k)+".html") == nil {
			errs = append(errs, fmt.Errorf("notification templates: %s.html is not defined", k))
		}
	}
	return errors.Join(errs...)
}

// Execute renders the template <kind>.<part> (part: subject, text, telegram, html) with
// data. When the override fails, the embedded default renders instead and err says why
// the override failed; out is "" only when the default fails too.
func (t *Templates) Execute(kind core.NotificationKind, part string, data *TemplateData) (out string, err error) {
	set, def := t.text, t.defText
	if part == "html" {
		set, def = t.html, t.defHTML
	}
	name := string(kind) + "." + part
	out, err = set.execute(name, data)
	if err == nil {
		return out, nil
	}
	if set != def {
		fallback, derr := def.execute(name, data)
		if derr == nil {
			return fallback, err
		}
		err = errors.Join(err, derr)
	}
	// What a failed execution wrote is a fragment: none is better.
	return "", err
}

package config

import (
	"reflect"
	"strconv"
	"strings"
)

// Error is one configuration problem. Load and Validate return one *Error, or several joined
// with errors.Join (errors.As finds the first).
type Error struct {
	Key  string // dotted key, e.g. "email.imap.port"; empty for a TOML syntax error
	Env  string // the environment variable, when the value came from the environment
	File string // the configuration file, when the problem is in it
	Line int    // 1-based line in File; 0 when unknown
	Msg  string // what is wrong; never contains a secret
}

// Error formats the problem as "config: <key>: <message>", naming the variable and the file
// line where there are.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	switch {
	case e.Env != "" && e.Key != "":
		b.WriteString(e.Env + " (" + e.Key + "): ")
	case e.Env != "":
		b.WriteString(e.Env + ": ")
	case e.Key != "":
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	if e.File != "" {
		b.WriteString(" (" + e.File)
		if e.Line > 0 {
			b.WriteString(" line " + strconv.Itoa(e.Line))
		}
		b.WriteString(")")
	}
	return b.String()
}

// Redacted returns a copy of c with every secret that is set replaced by "REDACTED", fit for
// logging or printing. Maps and slices are shared with c.
func (c Config) Redacted() Config {
	v := reflect.ValueOf(&c).Elem()
	for _, f := range fields() {
		fv := v.FieldByIndex(f.index)
		if f.secret && fv.Kind() == reflect.String && fv.String() != "" {
			fv.SetString("REDACTED")
		}
	}
	return c
}

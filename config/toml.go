package config

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// decodeTOML decodes a configuration file over c, rejecting unknown keys, and turns the
// decoder's errors into *Error values that name the key and line.
func decodeTOML(file string, data []byte, c *Config) error {
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(c)
	if err == nil {
		return nil
	}

	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		errs := make([]error, 0, len(strict.Errors))
		for i := range strict.Errors {
			de := &strict.Errors[i]
			line, _ := de.Position()
			msg := "unknown key"
			if v, ok := docValue(data, de.Key()); ok && kindOf(v) == "a table" {
				msg = "unknown section"
			}
			errs = append(errs, &Error{Key: dotted(de.Key()), File: file, Line: line, Msg: msg})
		}
		return errors.Join(errs...)
	}

	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, column := de.Position()
		path := []string(de.Key())
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		t, typed := typeAt(path)
		value, parsed := docValue(data, path)
		if dup, dupLine, ok := duplicateKey(data); ok {
			// The document cannot be read at all; it names a key twice.
			path, line, msg = dup, dupLine, "is set twice"
		} else if typed && len(path) > 0 {
			// A key that exists holds a value of the wrong type, or one that does not fit it
			// (an integer past 64 bits: then the document cannot be read at all).
			msg = "must be " + describe(t)
			if got := misfit(value, t); parsed && got != "" {
				msg += " (found " + got + ")"
			}
		} else {
			// Syntax errors quote the offending character, which may be part of a secret.
			msg = strings.Join(strings.Fields(quotedChar.ReplaceAllString(msg, "")), " ")
			if len(path) == 0 {
				msg = "invalid TOML at column " + strconv.Itoa(column) + ": " + msg
			}
		}
		return &Error{Key: dotted(path), File: file, Line: line, Msg: msg}
	}

	// A number or boolean given for a duration reaches UnmarshalText without the decoder
	// adding the key: find the key ourselves.
	if errors.As(err, new(errBadDuration)) {
		if key := findNonStringText(data); key != "" {
			return &Error{Key: key, File: file, Msg: "must be " + durationDesc + " (found a non-string value)"}
		}
	}
	return &Error{File: file, Msg: "cannot decode: " + err.Error()}
}

// tableAt returns the key of the [table] whose body holds the given line, nil for the root
// table or for a line that is itself a table header.
func tableAt(data []byte, line int) []string {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.Table && e.Kind != unstable.ArrayTable {
			continue
		}
		var key []string
		headerLine := 0
		for it := e.Key(); it.Next(); {
			if headerLine == 0 {
				headerLine = p.Shape(it.Node().Raw).Start.Line
			}
			key = append(key, string(it.Node().Data))
		}
		switch {
		case headerLine == line:
			return nil
		case headerLine > line:
			return table
		}
		table = key
	}
	return table
}

var quotedChar = regexp.MustCompile(`(?:U\+[0-9A-Fa-f]+ )?'[^']*'`)

// findNonStringText returns the key of the first text-typed key (a duration) whose value in
// the document is not a string.
func findNonStringText(data []byte) string {
	var doc map[string]any
	if toml.Unmarshal(data, &doc) != nil {
		return ""
	}
	for _, f := range fields() {
		if !reflect.PointerTo(f.typ).Implements(textUnmarshalerType) {
			continue
		}
		var v any = doc
		for part := range strings.SplitSeq(f.key, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[part]
		}
		if _, isString := v.(string); v != nil && !isString {
			return f.key
		}
	}
	return ""
}

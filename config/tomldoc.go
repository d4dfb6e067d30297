package config

import (
	"reflect"
	"strconv"
	"time"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// go-toml's DecodeError says what went wrong only in its text. Rather than read that text,
// the decoder's errors are explained from the document itself: what value a key holds, and
// which key is written twice.

// docValue returns the value at path in the document, and false when the document does not
// parse or holds nothing there.
func docValue(data []byte, path []string) (any, bool) {
	var doc map[string]any
	if toml.Unmarshal(data, &doc) != nil {
		return nil, false
	}
	var v any = doc
	for _, part := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

// kindOf says what a decoded TOML value is, as a message names it.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time, toml.LocalDate, toml.LocalTime, toml.LocalDateTime:
		return "a date or time"
	}
	return ""
}

// duplicateKey finds the first key (or table) the document defines twice: its full path and
// line. ok is false when there is none (the document's trouble is elsewhere).
func duplicateKey(data []byte) (path []string, line int, ok bool) {
	var p unstable.Parser
	p.Reset(data)
	seen := map[string]bool{}
	var table []string
	arrays := map[string]int{} // [[array]] headers seen, so each element is a table of its own
	keyOf := func(e *unstable.Node) ([]string, int) {
		var key []string
		l := 0
		for it := e.Key(); it.Next(); {
			if l == 0 {
				l = p.Shape(it.Node().Raw).Start.Line
			}
			key = append(key, string(it.Node().Data))
		}
		return key, l
	}
	id := func(parts []string) string {
		s := ""
		for _, k := range parts {
			s += "\x00" + k
		}
		return s
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			key, l := keyOf(e)
			table = key
			k := "[" + id(key)
			if seen[k] || seen["."+id(key)] {
				return key, l, true
			}
			seen[k] = true
		case unstable.ArrayTable:
			key, _ := keyOf(e)
			arrays[id(key)]++
			table = append(append([]string{}, key...), "#"+strconv.Itoa(arrays[id(key)]))
		case unstable.KeyValue:
			key, l := keyOf(e)
			full := append(append([]string{}, table...), key...)
			if seen[id(full)] {
				return visible(full), l, true
			}
			seen[id(full)] = true
			// A dotted key defines the tables it runs through; a [header] of one of them
			// later defines it again.
			for i := len(table) + 1; i < len(full); i++ {
				seen["."+id(full[:i])] = true
			}
		}
	}
	return nil, 0, false
}

// visible drops the element markers duplicateKey puts in paths inside [[arrays]].
func visible(path []string) []string {
	out := path[:0:0]
	for _, p := range path {
		if len(p) > 0 && p[0] == '#' {
			continue
		}
		out = append(out, p)
	}
	return out
}

// misfit says what the document holds that type t cannot take: the value's kind, or for a
// list the kind of its first item that does not fit t's items.
func misfit(v any, t reflect.Type) string {
	if items, ok := v.([]any); ok && t.Kind() == reflect.Slice {
		for _, item := range items {
			if !fits(item, t.Elem()) {
				return kindOf(item)
			}
		}
	}
	return kindOf(v)
}

// fits reports whether a decoded TOML value can be stored in type t.
func fits(v any, t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		_, ok := v.(string)
		return ok
	}
	switch v.(type) {
	case string:
		return t.Kind() == reflect.String
	case int64:
		return t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
	case float64:
		return t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64
	case bool:
		return t.Kind() == reflect.Bool
	case []any:
		return t.Kind() == reflect.Slice
	case map[string]any:
		return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
	}
	return false
}

package config

import (
	"encoding"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// field is one settable key of Config, found by reflection over the toml tags so that a new
// key gets environment and *_file support without being listed anywhere.
type field struct {
	key    string // dotted path, "email.imap.host"
	env    string // HELPDESKD_EMAIL_IMAP_HOST
	index  []int  // for reflect.Value.FieldByIndex from Config
	typ    reflect.Type
	secret bool // tagged secret:"true"; never shown
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// isLeaf reports whether t is set as one value rather than walked as a section.
func isLeaf(t reflect.Type) bool {
	return t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// tomlName returns the key of a struct field, or "" for a field that is not a key.
func tomlName(sf reflect.StructField) string {
	if !sf.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// fields lists every leaf key of Config in declaration order.
func fields() []field {
	var out []field
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			name := tomlName(sf)
			if name == "" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			idx := append(append([]int(nil), index...), i)
			if !isLeaf(sf.Type) {
				walk(sf.Type, key, idx)
				continue
			}
			out = append(out, field{
				key:    key,
				env:    envName(key),
				index:  idx,
				typ:    sf.Type,
				secret: sf.Tag.Get("secret") == "true",
			})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}

// envName returns the environment variable of a dotted key.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// typeAt returns the Go type that the TOML key path decodes into.
func typeAt(path []string) (reflect.Type, bool) {
	t := reflect.TypeFor[Config]()
	for _, part := range path {
		switch {
		case t.Kind() == reflect.Map:
			t = t.Elem()
		case t.Kind() == reflect.Struct && !isLeaf(t):
			found := false
			for i := range t.NumField() {
				if tomlName(t.Field(i)) == part {
					t, found = t.Field(i).Type, true
					break
				}
			}
			if !found {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return t, len(path) > 0
}

// describe says in words what a value of type t must be: "must be " + describe(t).
func describe(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if t == reflect.TypeFor[Duration]() {
			return durationDesc
		}
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + plural(t.Elem())
	case reflect.Map:
		return "a table of " + plural(t.Elem())
	case reflect.Struct:
		return "a table"
	}
	return "a " + t.String()
}

func plural(t reflect.Type) string {
	switch d := describe(t); d {
	case "true or false":
		return "booleans"
	case durationDesc:
		return "durations"
	default:
		return strings.TrimPrefix(strings.TrimPrefix(d, "an "), "a ") + "s"
	}
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// dotted writes a TOML key path the way it is written in a file.
func dotted(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		if bareKey.MatchString(p) {
			parts[i] = p
		} else {
			parts[i] = strconv.Quote(p)
		}
	}
	return strings.Join(parts, ".")
}

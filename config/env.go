package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// applyEnv sets every key named by a HELPDESKD_* entry of env ("NAME=value"). Lists are
// comma-separated; tables are comma-separated key=value pairs. A later entry for the same
// variable wins. Values are never quoted in errors: any of them may be a secret.
func applyEnv(c *Config, env []string) error {
	byEnv := make(map[string]field)
	for _, f := range fields() {
		byEnv[f.env] = f
	}
	root := reflect.ValueOf(c).Elem()
	var errs []error
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) ||
			name == EnvConfigFile || strings.HasPrefix(name, EnvTestPrefix) {
			continue
		}
		f, ok := byEnv[name]
		if !ok {
			errs = append(errs, &Error{Env: name, Msg: "unknown key (no configuration key has this variable)"})
			continue
		}
		if err := setString(root.FieldByIndex(f.index), value); err != nil {
			errs = append(errs, &Error{Env: name, Key: f.key, Msg: err.Error()})
		}
	}
	return errors.Join(errs...)
}

// setString parses s into v, which must be addressable.
func setString(v reflect.Value, s string) error {
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
			if err := u.UnmarshalText([]byte(s)); err != nil {
				return errors.New("must be " + describe(v.Type()))
			}
			return nil
		}
	}
	mustBe := func(err error) error {
		if errors.Is(err, strconv.ErrRange) {
			return errors.New("is out of range")
		}
		return errors.New("must be " + describe(v.Type()))
	}
	t := strings.TrimSpace(s)
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(t)
		if err != nil {
			return mustBe(err)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(t, 10, v.Type().Bits())
		if err != nil {
			return mustBe(err)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(t, 10, v.Type().Bits())
		if err != nil {
			return mustBe(err)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(t, v.Type().Bits())
		if err != nil {
			return mustBe(err)
		}
		v.SetFloat(n)
	case reflect.Slice:
		items := splitList(s)
		if len(items) == 0 {
			v.SetZero()
			return nil
		}
		list := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			if err := setString(list.Index(i), item); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
		}
		v.Set(list)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment")
		}
		items := splitList(s)
		if len(items) == 0 {
			v.SetZero()
			return nil
		}
		m := reflect.MakeMapWithSize(v.Type(), len(items))
		for i, item := range items {
			eq := strings.LastIndex(item, "=")
			if eq <= 0 {
				return fmt.Errorf("item %d: must be key=value (comma-separated pairs)", i+1)
			}
			key := reflect.New(v.Type().Key()).Elem()
			key.SetString(strings.TrimSpace(item[:eq]))
			val := reflect.New(v.Type().Elem()).Elem()
			if err := setString(val, item[eq+1:]); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
			m.SetMapIndex(key, val)
		}
		v.Set(m)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// splitList splits a comma-separated value, trimming spaces and dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

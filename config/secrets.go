package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
)

// readSecretFiles fills every string key X from the file named by its sibling key X_file,
// when that is set. Setting both is an error, as are an unreadable and an empty file.
func readSecretFiles(c *Config) error {
	all := fields()
	byKey := make(map[string]field, len(all))
	for _, f := range all {
		byKey[f.key] = f
	}
	root := reflect.ValueOf(c).Elem()
	var errs []error
	for _, f := range all {
		base, ok := strings.CutSuffix(f.key, "_file")
		target, hasTarget := byKey[base]
		if !ok || !hasTarget || f.typ.Kind() != reflect.String || target.typ.Kind() != reflect.String {
			continue
		}
		path := root.FieldByIndex(f.index).String()
		if path == "" {
			continue
		}
		value := root.FieldByIndex(target.index)
		if value.String() != "" {
			errs = append(errs, &Error{Key: base, Msg: fmt.Sprintf("set either %s or %s, not both",
				lastPart(base), lastPart(f.key))})
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &Error{Key: f.key, Msg: "cannot read the file: " + err.Error()})
			continue
		}
		secret := strings.TrimRight(string(data), "\r\n")
		if secret == "" {
			errs = append(errs, &Error{Key: f.key, Msg: fmt.Sprintf("file %s is empty", path)})
			continue
		}
		value.SetString(secret)
	}
	return errors.Join(errs...)
}

func lastPart(key string) string {
	return key[strings.LastIndex(key, ".")+1:]
}

// Warning is something the configuration allows but should not be left so. It never
// contains a secret.
type Warning struct {
	Key string // dotted key, e.g. "telegram.token_file"
	Msg string
}

func (w Warning) String() string { return w.Key + ": " + w.Msg }

// Warnings lists the *_file secrets that users other than the daemon's may read (a group
// or others read bit). Load reads them whatever their mode, so that a set-up that starts
// keeps starting; the caller logs these at start-up so the operator tightens the mode.
func (c Config) Warnings() []Warning {
	if runtime.GOOS == "windows" {
		return nil // no Unix modes; ACLs are not looked at
	}
	all := fields()
	keys := make(map[string]bool, len(all))
	for _, f := range all {
		keys[f.key] = true
	}
	root := reflect.ValueOf(c)
	var list []Warning
	for _, f := range all {
		base, ok := strings.CutSuffix(f.key, "_file")
		if !ok || !keys[base] || f.typ.Kind() != reflect.String {
			continue
		}
		path := root.FieldByIndex(f.index).String()
		if path == "" {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue // Load reported it, or the file went away since: nothing to say here
		}
		if mode := fi.Mode().Perm(); mode&0o044 != 0 {
			list = append(list, Warning{Key: f.key, Msg: fmt.Sprintf(
				"the secret file %s is readable by group or others (mode %04o); make it readable by the daemon's user only (chmod 600)",
				path, mode)})
		}
	}
	return list
}

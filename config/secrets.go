package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
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

package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime"
	"strings"
)

// CredentialsVar is the one variable a *_file key may name, as ${CREDENTIALS_DIRECTORY}:
// systemd sets it to the directory where LoadCredential= puts a unit's secrets, a path that
// is known only when the unit runs (/run/credentials/<unit>/).
const CredentialsVar = "CREDENTIALS_DIRECTORY"

// credentialsRef is how a *_file value names CredentialsVar. Only the braced form of this
// one variable is expanded: a general expansion would turn any "$" of a file name into
// something else.
const credentialsRef = "${" + CredentialsVar + "}"

// expandCredentials replaces ${CREDENTIALS_DIRECTORY} in a *_file value with its value in
// env; naming it while it is unset or empty is an error, since the path would point
// somewhere else than meant.
func expandCredentials(key, path string, env []string) (string, error) {
	if !strings.Contains(path, credentialsRef) {
		return path, nil
	}
	dir := ""
	for _, kv := range env {
		if name, value, ok := strings.Cut(kv, "="); ok && name == CredentialsVar {
			dir = value // a later entry wins, as in applyEnv
		}
	}
	if dir == "" {
		return "", &Error{Key: key, Msg: fmt.Sprintf("%s names %s, which is not set (systemd sets it for a unit with LoadCredential=)",
			path, credentialsRef)}
	}
	return strings.ReplaceAll(path, credentialsRef, dir), nil
}

// enabledAt reports whether the section that holds key is on: the "enabled" key nearest to
// it (email.imap.password → email.enabled), true when no section above it has one.
func enabledAt(root reflect.Value, key string, byKey map[string]field) bool {
	for i := strings.LastIndex(key, "."); i >= 0; i = strings.LastIndex(key, ".") {
		key = key[:i]
		if f, ok := byKey[key+".enabled"]; ok && f.typ.Kind() == reflect.Bool {
			return root.FieldByIndex(f.index).Bool()
		}
	}
	return true
}

// readSecretFiles fills every string key X from the file named by its sibling key X_file,
// when that is set, after expanding ${CREDENTIALS_DIRECTORY} in the X_file value with env
// (the expanded path is kept in X_file). Setting both is an error, as are an unreadable and
// an empty file. The file of a secret whose section is off (email.enabled = false) is not
// read: a channel that is off needs no secret, so the files of a set-up kept for later need
// not exist, and the commands that use no channel load the configuration with the channels
// off, outside the service that holds the secrets.
func readSecretFiles(c *Config, env []string) error {
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
		fileField := root.FieldByIndex(f.index)
		path := fileField.String()
		if path == "" {
			continue
		}
		value := root.FieldByIndex(target.index)
		if value.String() != "" {
			errs = append(errs, &Error{Key: base, Msg: fmt.Sprintf("set either %s or %s, not both", base, f.key)})
			continue
		}
		if !enabledAt(root, f.key, byKey) {
			continue
		}
		path, err := expandCredentials(f.key, path, env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fileField.SetString(path)
		data, err := os.ReadFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is said once, below
			}
			errs = append(errs, &Error{Key: f.key, Msg: fmt.Sprintf("cannot read the file %s: %v", path, err)})
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

// Warning is something the configuration allows but should not be left so. It never
// contains a secret.
type Warning struct {
	Key string // dotted key, e.g. "telegram.token_file"
	Msg string
}

func (w Warning) String() string { return w.Key + ": " + w.Msg }

// Warnings lists the *_file secrets of sections that are on that users other than the
// daemon's may read (a group or others read bit). Load reads them whatever their mode, so that a set-up that starts
// keeps starting; the caller logs these at start-up so the operator tightens the mode.
func (c Config) Warnings() []Warning {
	if runtime.GOOS == "windows" {
		return nil // no Unix modes; ACLs are not looked at
	}
	all := fields()
	byKey := make(map[string]field, len(all))
	for _, f := range all {
		byKey[f.key] = f
	}
	root := reflect.ValueOf(c)
	var list []Warning
	for _, f := range all {
		base, ok := strings.CutSuffix(f.key, "_file")
		if _, isSecret := byKey[base]; !ok || !isSecret || f.typ.Kind() != reflect.String || !enabledAt(root, f.key, byKey) {
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

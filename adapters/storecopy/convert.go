package storecopy

import (
	"fmt"
	"time"
)

// A row in flight is in the canonical form: Int int64, Text string, NullInt nil or int64,
// NullText nil or string, Time time.Time (UTC, microseconds), NullTime nil or time.Time,
// Bool bool. Each store's reader produces it and each writer takes it.

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int:
		return int64(x), true
	case bool: // not expected, but 0/1 is what SQLite would hold
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func asText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// fromSQLite converts a value read from SQLite to the canonical form.
func fromSQLite(c Column, v any) (any, error) {
	bad := func() (any, error) {
		return nil, fmt.Errorf("column %s: unexpected value %T %v", c.Name, v, v)
	}
	if v == nil {
		switch c.Kind {
		case NullInt, NullText, NullTime:
			return nil, nil
		}
		return bad()
	}
	switch c.Kind {
	case Int, NullInt:
		if n, ok := asInt(v); ok {
			return n, nil
		}
	case Text, NullText:
		if s, ok := asText(v); ok {
			return s, nil
		}
	case Time, NullTime:
		if n, ok := asInt(v); ok {
			if n == 0 && c.Kind == NullTime {
				return nil, nil
			}
			return time.UnixMicro(n).UTC(), nil
		}
	case Bool:
		if n, ok := asInt(v); ok {
			return n != 0, nil
		}
	}
	return bad()
}

// toSQLite converts a canonical value to what SQLite stores.
func toSQLite(c Column, v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UnixMicro()
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// fromPostgres converts a value pgx decoded to the canonical form.
func fromPostgres(c Column, v any) (any, error) {
	bad := func() (any, error) {
		return nil, fmt.Errorf("column %s: unexpected value %T %v", c.Name, v, v)
	}
	if v == nil {
		switch c.Kind {
		case NullInt, NullText, NullTime:
			return nil, nil
		}
		return bad()
	}
	switch c.Kind {
	case Int, NullInt:
		if n, ok := asInt(v); ok {
			return n, nil
		}
	case Text, NullText:
		if s, ok := asText(v); ok {
			return s, nil
		}
	case Time, NullTime:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	}
	return bad()
}

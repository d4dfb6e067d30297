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

// fromSQLite converts a value read from SQLite to the canonical form: times are integer
// microseconds (0 for none), flags 0 and 1.
func fromSQLite(c Column, v any) (any, error) {
	return canonical(c, v, func(v any) (any, bool) {
		n, ok := asInt(v)
		if !ok {
			return nil, false
		}
		if n == 0 && c.Kind == NullTime {
			return nil, true
		}
		return time.UnixMicro(n).UTC(), true
	}, func(v any) (any, bool) {
		n, ok := asInt(v)
		return n != 0, ok
	})
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
	return canonical(c, v, func(v any) (any, bool) {
		t, ok := v.(time.Time)
		return t.UTC().Truncate(time.Microsecond), ok
	}, func(v any) (any, bool) {
		b, ok := v.(bool)
		return b, ok
	})
}

// canonical converts a non-time, non-flag value the same way for both stores, and times and
// flags with the store's own functions.
func canonical(c Column, v any, asTime, asBool func(any) (any, bool)) (any, error) {
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
	var out any
	ok := false
	switch c.Kind {
	case Int, NullInt:
		out, ok = asInt(v)
	case Text, NullText:
		out, ok = asText(v)
	case Time, NullTime:
		out, ok = asTime(v)
	case Bool:
		out, ok = asBool(v)
	}
	if !ok {
		return bad()
	}
	return out, nil
}

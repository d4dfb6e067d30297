package core

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP adapter maps each to a status code in one place.
const (
	EINVALID      = "invalid"      // bad input; 400
	EUNAUTHORIZED = "unauthorized" // no or bad credentials; 401
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed; 403
	ENOTFOUND     = "not_found"    // no such thing, or not visible to the caller; 404
	ECONFLICT     = "conflict"     // refused by the state machine or a uniqueness rule; 409
	ETOOLARGE     = "too_large"    // over a size limit; 413
	ERATELIMIT    = "rate_limited" // too many requests; 429
	EUNAVAILABLE  = "unavailable"  // a dependency is down (read-only disk, full disk); 503
	EINTERNAL     = "internal"     // anything else; 500, details never shown
)

// Error is a domain error: a code, a message safe to show to the caller, and the
// names of the offending fields where the input was at fault.
type Error struct {
	Code    string
	Message string
	// Fields holds one human message per bad field, e.g. "subject: must not be empty".
	Fields []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain; for any other
// error it returns "Internal error." so that internals never leak to callers.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the per-field messages of the first *Error in err's chain.
func ErrorFields(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// fieldErrors collects per-field validation failures into one EINVALID error.
type fieldErrors []string

func (f *fieldErrors) add(field, msg string) { *f = append(*f, field+": "+msg) }

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	msg := "Invalid input: " + f[0]
	if len(f) > 1 {
		msg = fmt.Sprintf("Invalid input: %s (and %d more)", f[0], len(f)-1)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: []string(f)}
}

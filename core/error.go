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
	// Fields are the bad fields where the input was at fault.
	Fields []FieldError
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

// ErrorFields returns the bad fields of the first *Error in err's chain.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// FieldError is one bad field of an input and what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

// String is the line the API lists for the field: "subject: must not be empty".
func (f FieldError) String() string { return f.Field + ": " + f.Message }

// FieldErrors collects the bad fields of one input into one EINVALID error.
type FieldErrors []FieldError

// Add records a bad field.
func (f *FieldErrors) Add(field, msg string) {
	*f = append(*f, FieldError{Field: field, Message: msg})
}

// Err returns nil when no field was bad, else the EINVALID error naming them.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: InvalidMessage(f), Fields: []FieldError(f)}
}

// InvalidMessage is the message of an EINVALID error with these fields: the first one,
// and how many more there are.
func InvalidMessage(f []FieldError) string {
	switch len(f) {
	case 0:
		return "Invalid input."
	case 1:
		return "Invalid input: " + f[0].String()
	}
	return fmt.Sprintf("Invalid input: %s (and %d more)", f[0], len(f)-1)
}

// atMostChars is the message of a text field over its limit.
func atMostChars(limit int) string { return "must be at most " + itoa(int64(limit)) + " characters" }

// Invalid is the EINVALID error of one bad field.
func Invalid(field, msg string) error {
	var f FieldErrors
	f.Add(field, msg)
	return f.Err()
}

// WithCause returns e answering for cause: its code and message decide what the caller is
// told, and cause stays in the chain (and the text) for the logs. A store uses it to turn a
// driver's error into a domain error without losing the driver's words.
func WithCause(e *Error, cause error) error {
	return &causedError{domain: e, cause: cause}
}

type causedError struct {
	domain *Error
	cause  error
}

func (w *causedError) Error() string   { return w.domain.Error() + ": " + w.cause.Error() }
func (w *causedError) Unwrap() []error { return []error{w.domain, w.cause} }

// Package errx is Lanyard's small set of error codes. Stores and services
// return *Error values (or wrap them); one HTTP writer maps them to statuses
// and the Kratos error envelope, so no package below HTTP knows about HTTP.
package errx

import (
	"errors"
	"fmt"
)

// Code classifies an error. The zero value is Internal.
type Code int

// Codes.
const (
	Internal Code = iota
	NotFound
	Conflict
	Invalid
	Unauthorized
	Forbidden
	Gone
	TooMany
	TooLarge
	Unavailable
	BadGateway     // an upstream (e.g. a webhook) answered badly
	GatewayTimeout // an upstream did not answer in time
)

// Error is a classified error. ID is the machine id rendered in the envelope
// (e.g. "security_csrf_violation"); Reason is the specific explanation shown
// to the client; Err is the cause, logged but never shown.
type Error struct {
	Code    Code
	ID      string
	Reason  string
	Details map[string]any
	Err     error
}

func (e *Error) Error() string {
	msg := e.Reason
	if msg == "" {
		msg = e.ID
	}
	if e.Err != nil {
		if msg == "" {
			return e.Err.Error()
		}
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, errx.New(errx.NotFound, "")) match on code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (t.ID == "" || t.ID == e.ID)
}

// New makes an error with a code and a client-facing reason.
func New(code Code, reason string) *Error { return &Error{Code: code, Reason: reason} }

// Newf is New with formatting.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// WithID returns a copy of e carrying a machine id.
func (e *Error) WithID(id string) *Error {
	c := *e
	c.ID = id
	return &c
}

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(d map[string]any) *Error {
	c := *e
	c.Details = d
	return &c
}

// Wrap returns a copy of e with a cause.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Has reports whether err carries the given code.
func Has(err error, code Code) bool { return err != nil && CodeOf(err) == code }

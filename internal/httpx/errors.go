// Package httpx holds the HTTP plumbing shared by every role: the handler
// adapter, the Kratos error envelope writer, request ids, logging, body
// limits and health endpoints.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// Handler is a gin handler that returns its error; Wrap renders it.
type Handler func(c *gin.Context) error

// Wrap adapts a Handler to gin: a returned error is written as the Kratos
// envelope, so no path can forget to answer.
func Wrap(h Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			WriteError(c, err)
		}
	}
}

// Envelope is the Kratos (ory/herodot) error body.
type Envelope struct {
	Error EnvelopeError `json:"error"`
}

// EnvelopeError is the object inside Envelope.
type EnvelopeError struct {
	ID      string         `json:"id,omitempty"`
	Code    int            `json:"code"`
	Status  string         `json:"status"`
	Request string         `json:"request,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

var statusOf = map[errx.Code]int{
	errx.Internal:       http.StatusInternalServerError,
	errx.NotFound:       http.StatusNotFound,
	errx.Conflict:       http.StatusConflict,
	errx.Invalid:        http.StatusBadRequest,
	errx.Unauthorized:   http.StatusUnauthorized,
	errx.Forbidden:      http.StatusForbidden,
	errx.Gone:           http.StatusGone,
	errx.TooMany:        http.StatusTooManyRequests,
	errx.TooLarge:       http.StatusRequestEntityTooLarge,
	errx.Unavailable:    http.StatusServiceUnavailable,
	errx.BadGateway:     http.StatusBadGateway,
	errx.GatewayTimeout: http.StatusGatewayTimeout,
}

// messages are the generic texts herodot uses per status.
var messages = map[int]string{
	http.StatusBadRequest:            "The request was malformed or contained invalid parameters",
	http.StatusUnauthorized:          "The request could not be authorized",
	http.StatusForbidden:             "The requested action was forbidden",
	http.StatusNotFound:              "The requested resource could not be found",
	http.StatusConflict:              "The resource could not be created due to a conflict",
	http.StatusGone:                  "The requested resource is no longer available",
	http.StatusRequestEntityTooLarge: "The request body is too large",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusInternalServerError:   "An internal server error occurred, please contact the system administrator",
	http.StatusServiceUnavailable:    "The service is temporarily unavailable",
	http.StatusBadGateway:            "An upstream server answered with an error",
	http.StatusGatewayTimeout:        "An upstream server did not answer in time",
}

// StatusOf maps an error to its HTTP status.
func StatusOf(err error) int { return statusOf[errx.CodeOf(err)] }

// EnvelopeOf renders err as the envelope the client sees. Internal errors
// show nothing of their cause.
func EnvelopeOf(err error, requestID string) Envelope {
	status := StatusOf(err)
	e := EnvelopeError{Code: status, Status: http.StatusText(status), Request: requestID, Message: messages[status]}
	var xe *errx.Error
	if errors.As(err, &xe) && xe.Code != errx.Internal {
		e.ID = xe.ID
		e.Reason = xe.Reason
		e.Details = xe.Details
	}
	return Envelope{Error: e}
}

// WriteError writes err as the Kratos envelope and logs it (internal errors
// at error level with their cause).
func WriteError(c *gin.Context, err error) {
	if c.Request.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away: nobody reads an answer, and it is not the
		// server's failure. 499 (as proxies log it) keeps it out of the 5xx
		// logs and metrics.
		Logger(c).Info("client closed the request", "error", err.Error())
		c.AbortWithStatus(StatusClientClosedRequest)
		return
	}
	env := EnvelopeOf(err, RequestID(c))
	if env.Error.Code >= 500 {
		Logger(c).Error("request failed", "error", err.Error(), "status", env.Error.Code)
	} else {
		Logger(c).Debug("request refused", "error", err.Error(), "status", env.Error.Code)
	}
	WriteEnvelope(c, env)
}

// StatusClientClosedRequest is the status recorded for a request whose
// client disconnected before the answer (nginx's 499).
const StatusClientClosedRequest = 499

// WriteEnvelope writes an already rendered envelope.
func WriteEnvelope(c *gin.Context, env Envelope) {
	c.Header("Cache-Control", "private, no-cache, no-store, must-revalidate")
	c.AbortWithStatusJSON(env.Error.Code, env)
}

// BindJSON decodes the request body into v, refusing bodies that are not
// JSON, that carry unknown fields (when strict) or that exceed the limit.
func BindJSON(c *gin.Context, v any, strict bool) error {
	dec := json.NewDecoder(c.Request.Body)
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errx.New(errx.TooLarge, "The request body exceeds the configured limit.")
		}
		return errx.Newf(errx.Invalid, "The request body is not valid JSON: %s", jsonReason(err))
	}
	if dec.More() {
		return errx.New(errx.Invalid, "The request body is not valid JSON: unexpected data after the JSON value")
	}
	return nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.As(err, &te):
		return "field " + te.Field + " must be " + te.Type.String()
	case err.Error() == "EOF":
		return "empty body"
	default:
		return err.Error()
	}
}

// Logger returns the request-scoped logger (request id, project id).
func Logger(c *gin.Context) *slog.Logger {
	if v, ok := c.Get(loggerKey); ok {
		r := v.(*reqLogger)
		return r.logger()
	}
	return slog.Default()
}

package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// ExpiredError is the 410 self_service_flow_expired. UseFlowID names the
// replacement flow (set when one was created, at submit); ExpiredAt and
// Since (nanoseconds, a Go duration) are rendered next to "error".
type ExpiredError struct {
	Kind      Kind
	ExpiredAt time.Time
	Since     time.Duration
	UseFlowID uuid.UUID
	// RedirectTo is the init URL to start over (GET of an expired flow).
	RedirectTo string
	ReturnTo   string
	API        bool
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("%s flow expired at %s", e.Kind, e.ExpiredAt)
}

// envelope renders the error as Kratos does.
func (e *ExpiredError) envelope(requestID string) map[string]any {
	details := map[string]any{}
	if e.RedirectTo != "" {
		details["redirect_to"] = e.RedirectTo
	}
	if e.ReturnTo != "" {
		details["return_to"] = e.ReturnTo
	}
	if e.API {
		details["api"] = true
	}
	env := httpx.EnvelopeOf(errx.New(errx.Gone, "The self-service flow expired "+fmt.Sprintf("%.2f", e.Since.Minutes())+" minutes ago, initialize a new one.").
		WithID("self_service_flow_expired").WithDetails(details), requestID)
	out := map[string]any{"error": env.Error, "expired_at": e.ExpiredAt.UTC(), "since": int64(e.Since)}
	if e.UseFlowID != uuid.Nil {
		out["use_flow_id"] = e.UseFlowID
	}
	return out
}

// ReplacedError is the 410 self_service_flow_replaced.
type ReplacedError struct{ UseFlowID uuid.UUID }

func (e *ReplacedError) Error() string { return "flow replaced by " + e.UseFlowID.String() }

// LocationChangeError is the 422 browser_location_change_required.
type LocationChangeError struct{ RedirectBrowserTo string }

func (e *LocationChangeError) Error() string { return "browser must go to " + e.RedirectBrowserTo }

// RedirectError carries a 403 whose body names where the browser must go
// (session_aal2_required, session_refresh_required).
type RedirectError struct {
	Err               *errx.Error
	RedirectBrowserTo string
}

func (e *RedirectError) Error() string { return e.Err.Error() }
func (e *RedirectError) Unwrap() error { return e.Err }

// ErrorBody renders err as the Kratos JSON error body and its status,
// including the top-level siblings some errors carry.
func ErrorBody(err error, requestID string) (int, any) {
	var exp *ExpiredError
	var rep *ReplacedError
	var loc *LocationChangeError
	var red *RedirectError
	switch {
	case errors.As(err, &exp):
		return http.StatusGone, exp.envelope(requestID)
	case errors.As(err, &rep):
		env := httpx.EnvelopeOf(errx.New(errx.Gone, "The self-service flow was replaced by another one.").WithID("self_service_flow_replaced"), requestID)
		return http.StatusGone, map[string]any{"error": env.Error, "use_flow_id": rep.UseFlowID}
	case errors.As(err, &loc):
		env := httpx.EnvelopeOf(errx.New(errx.Invalid, "In order to complete this flow please redirect the browser to: "+loc.RedirectBrowserTo).
			WithID("browser_location_change_required").WithDetails(map[string]any{"redirect_browser_to": loc.RedirectBrowserTo}), requestID)
		env.Error.Code, env.Error.Status = http.StatusUnprocessableEntity, http.StatusText(http.StatusUnprocessableEntity)
		env.Error.Message = "The request was well-formed but was unable to be followed due to semantic errors."
		return http.StatusUnprocessableEntity, map[string]any{"error": env.Error, "redirect_browser_to": loc.RedirectBrowserTo}
	case errors.As(err, &red):
		d := map[string]any{"redirect_browser_to": red.RedirectBrowserTo}
		for k, v := range red.Err.Details {
			d[k] = v
		}
		env := httpx.EnvelopeOf(red.Err.WithDetails(d), requestID)
		return env.Error.Code, map[string]any{"error": env.Error, "redirect_browser_to": red.RedirectBrowserTo}
	}
	env := httpx.EnvelopeOf(err, requestID)
	return env.Error.Code, env
}

// WriteError writes err as JSON (see ErrorBody) and logs it.
func WriteError(c *gin.Context, err error) {
	if c.Request.Context().Err() != nil && errors.Is(err, context.Canceled) {
		httpx.WriteError(c, err) // the client went away: 499, no answer
		return
	}
	status, body := ErrorBody(err, httpx.RequestID(c))
	if status >= 500 {
		httpx.Logger(c).Error("request failed", "error", err.Error(), "status", status)
	}
	c.Header("Cache-Control", "private, no-cache, no-store, must-revalidate")
	c.AbortWithStatusJSON(status, body)
}

// Errors is the store behind /self-service/errors: a browser that hits an
// error it cannot show as JSON is sent to the error UI with ?id=, and the
// UI fetches the error here.
type Errors struct{ DB *tenant.DB }

// Save stores the rendered error and returns its id.
func (s Errors) Save(ctx context.Context, p *tenant.Project, err error, requestID string) (uuid.UUID, error) {
	_, body := ErrorBody(err, requestID)
	inner := body
	if m, ok := body.(map[string]any); ok {
		inner = m["error"]
	} else if env, ok := body.(httpx.Envelope); ok {
		inner = env.Error
	}
	raw, merr := json.Marshal(inner)
	if merr != nil {
		return uuid.Nil, merr
	}
	id := uuid.Must(uuid.NewV7())
	txErr := s.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO selfservice_errors (id, error) VALUES ($1, $2)`, id, raw)
		return err
	})
	if txErr != nil {
		return uuid.Nil, fmt.Errorf("flows.Errors.Save: %w", txErr)
	}
	return id, nil
}

// StoredError is the body of GET /self-service/errors.
type StoredError struct {
	ID        string          `json:"id"`
	Error     json.RawMessage `json:"error"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

var stubError = json.RawMessage(`{"code":500,"status":"Internal Server Error","reason":"This is a stub error.","message":"An internal server error occurred, please contact the system administrator"}`)

// Get returns a stored error; "stub:500" is the canned one. errx.NotFound
// for an unknown id.
func (s Errors) Get(ctx context.Context, p *tenant.Project, id string) (*StoredError, error) {
	if id == "stub:500" {
		now := time.Now().UTC()
		return &StoredError{ID: id, Error: stubError, CreatedAt: now, UpdatedAt: now}, nil
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, errx.New(errx.NotFound, "The error could not be found.")
	}
	se := &StoredError{ID: uid.String()}
	err = s.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) error {
		return tx.QueryRow(ctx, `SELECT error, created_at, updated_at FROM selfservice_errors WHERE id = $1`, uid).
			Scan(&se.Error, &se.CreatedAt, &se.UpdatedAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errx.New(errx.NotFound, "The error could not be found.")
	}
	return se, err
}

// GetError serves GET /self-service/errors?id=.
func GetError(s Errors) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		id := c.Query("id")
		if id == "" {
			return errx.New(errx.NotFound, "The error could not be found.")
		}
		se, err := s.Get(c.Request.Context(), p, id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, se)
		return nil
	}
}

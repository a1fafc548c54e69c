// Package flows is the self-service flow core shared by login,
// registration, settings, recovery and verification: the flow object and
// its storage, the UI container and nodes, the message catalogue, CSRF,
// JSON-vs-browser negotiation, return_to checks, expiry, the error store
// behind /self-service/errors, and the strategy interfaces that methods
// (password, profile, code, totp, lookup_secret, webauthn, passkey, oidc)
// implement. The flows themselves live in flows/<kind>, the methods in
// flows/strategy/<name>.
//
// Errors: the store returns errx.NotFound for an unknown flow (another
// project's flow is unknown); Check returns *ExpiredError (410), CSRF
// checks errx.Forbidden with id security_csrf_violation.
package flows

import (
	"encoding/json"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Kind names a flow.
type Kind string

// Kinds.
const (
	KindLogin        Kind = "login"
	KindRegistration Kind = "registration"
	KindSettings     Kind = "settings"
	KindRecovery     Kind = "recovery"
	KindVerification Kind = "verification"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindLogin, KindRegistration, KindSettings, KindRecovery, KindVerification:
		return true
	}
	return false
}

// Type says who drives a flow: a browser (cookies, CSRF, redirects) or an
// API client (session tokens, JSON only).
type Type string

// Flow types.
const (
	TypeBrowser Type = "browser"
	TypeAPI     Type = "api"
)

// State is where a flow is.
type State string

// States.
const (
	StateChooseMethod    State = "choose_method"
	StateSentEmail       State = "sent_email"
	StatePassedChallenge State = "passed_challenge"
	StateShowForm        State = "show_form"
	StateSuccess         State = "success"
)

// ContinueWith is one next step for the client (Kratos continue_with).
type ContinueWith struct {
	Action            string            `json:"action"`
	RedirectBrowserTo string            `json:"redirect_browser_to,omitempty"`
	OrySessionToken   string            `json:"ory_session_token,omitempty"`
	Flow              *ContinueWithFlow `json:"flow,omitempty"`
}

// ContinueWithFlow points to another flow.
type ContinueWithFlow struct {
	ID                uuid.UUID `json:"id"`
	VerifiableAddress string    `json:"verifiable_address,omitempty"`
	URL               string    `json:"url,omitempty"`
}

// Continue-with actions.
const (
	ActionRedirectBrowserTo  = "redirect_browser_to"
	ActionSetOrySessionToken = "set_ory_session_token"
	ActionShowVerificationUI = "show_verification_ui"
	ActionShowSettingsUI     = "show_settings_ui"
	ActionShowRecoveryUI     = "show_recovery_ui"
)

// Flow is one self-service interaction, rendered as Kratos renders it.
// Fields that only some kinds carry are pointers or omitempty and are set
// by New for those kinds.
type Flow struct {
	ID               uuid.UUID       `json:"id"`
	Type             Type            `json:"type"`
	ExpiresAt        time.Time       `json:"expires_at"`
	IssuedAt         time.Time       `json:"issued_at"`
	RequestURL       string          `json:"request_url"`
	ReturnTo         string          `json:"return_to,omitempty"`
	Active           string          `json:"active,omitempty"`
	UI               *Container      `json:"ui"`
	State            State           `json:"state"`
	TransientPayload json.RawMessage `json:"transient_payload,omitempty"`

	// login only
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	UpdatedAt    *time.Time `json:"updated_at,omitempty"`
	Refresh      *bool      `json:"refresh,omitempty"`
	RequestedAAL string     `json:"requested_aal,omitempty"`

	// login and registration
	SessionTokenExchangeCode string     `json:"session_token_exchange_code,omitempty"`
	OAuth2LoginChallenge     string     `json:"oauth2_login_challenge,omitempty"`
	OrganizationID           *uuid.UUID `json:"organization_id,omitempty"`

	// settings
	Identity json.RawMessage `json:"identity,omitempty"`

	// settings and recovery
	ContinueWith []ContinueWith `json:"continue_with,omitempty"`

	// Kind is the flow's kind (not rendered: the endpoint says it).
	Kind Kind `json:"-"`
	// IdentityID is the identity a settings flow (or a refresh/aal2 login)
	// belongs to.
	IdentityID *uuid.UUID `json:"-"`
	// CSRFHash binds a browser flow to its CSRF cookie.
	CSRFHash []byte `json:"-"`
	// Internal is strategy state that is never rendered (e.g. a WebAuthn
	// challenge), keyed by strategy id.
	Internal map[string]json.RawMessage `json:"-"`
}

// Lifespan is the default lifetime of a flow.
const Lifespan = time.Hour

// NewParams describes a new flow.
type NewParams struct {
	Kind       Kind
	Type       Type
	BaseURL    string // the project's public URL
	RequestURL string // as rebuilt by RequestURL
	ReturnTo   string // already checked against the allow-list
	Lifespan   time.Duration
	Now        time.Time
}

// New returns a flow with its kind's fields, state and an empty UI whose
// action is {base}/self-service/{kind}?flow={id}.
func New(p NewParams) *Flow {
	now := p.Now.UTC().Truncate(time.Microsecond)
	if p.Lifespan <= 0 {
		p.Lifespan = Lifespan
	}
	f := &Flow{
		ID: uuid.Must(uuid.NewV7()), Kind: p.Kind, Type: p.Type, IssuedAt: now, ExpiresAt: now.Add(p.Lifespan),
		RequestURL: p.RequestURL, ReturnTo: p.ReturnTo, State: StateChooseMethod,
	}
	f.UI = NewContainer(ActionURL(p.BaseURL, p.Kind, f.ID))
	switch p.Kind {
	case KindLogin:
		no := false
		f.CreatedAt, f.UpdatedAt, f.Refresh, f.RequestedAAL = &now, &now, &no, "aal1"
	case KindSettings:
		f.State = StateShowForm
	}
	return f
}

// ActionURL is where a flow's form posts.
func ActionURL(base string, k Kind, id uuid.UUID) string {
	return base + "/self-service/" + string(k) + "?" + url.Values{"flow": {id.String()}}.Encode()
}

// Expired reports whether f has expired at now.
func (f *Flow) Expired(now time.Time) bool { return !now.Before(f.ExpiresAt) }

// Touch records a change (login flows render updated_at).
func (f *Flow) Touch(now time.Time) {
	if f.UpdatedAt != nil {
		t := now.UTC().Truncate(time.Microsecond)
		f.UpdatedAt = &t
	}
}

package flows

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/tenant"
)

// A method plugs into the flows by implementing one or more of the
// strategy interfaces below, in flows/strategy/<name>, and proving it at
// compile time (var _ flows.LoginStrategy = (*Strategy)(nil)). The flow
// handlers know methods only through these interfaces and the ordered
// lists in Methods, so adding code, totp, lookup_secret, webauthn,
// passkey or oidc touches no flow code.
//
// Contract of a submit:
//   - the flow handler has already loaded and locked the flow, checked
//     expiry and CSRF, decoded the body and matched Body.Method to ID();
//   - the strategy validates and acts inside tx (the flow's transaction);
//   - a user error is a *ValidationError (rendered as a 400 flow with the
//     messages on the nodes); any other error aborts the flow with that
//     error's status;
//   - ErrNotResponsible means "this body is not for me" (lets two methods
//     share a submit button group, e.g. identifier_first).

// Strategy is one method.
type Strategy interface {
	// ID is the method name: the `method` value of submits, the node group
	// and the authentication method recorded in sessions.
	ID() string
}

// Request is what a strategy may know of the HTTP request.
type Request struct {
	HTTP    *http.Request
	Project *tenant.Project
	BaseURL string
	// Session is the caller's current session, nil when there is none.
	Session *session.Session
	// Body is the submit body as JSON (forms are converted, dotted names
	// nested), with Method already read.
	Body   json.RawMessage
	Method string
	// Config is the project's flow configuration.
	Config Config
}

// LoginResult is who a login strategy authenticated.
type LoginResult struct {
	IdentityID uuid.UUID
	Method     session.AuthenticationMethod
	// Identity, when the strategy read it in the flow's transaction,
	// saves reading it again for the answer.
	Identity *identity.Identity
}

// LoginStrategy is a first or second factor.
type LoginStrategy interface {
	Strategy
	// PopulateLogin adds the method's nodes to a new (or refreshed) login
	// flow; it honours f.Refresh and f.RequestedAAL (a second factor adds
	// nothing to an aal1 flow, a first factor nothing to an aal2 flow).
	PopulateLogin(ctx context.Context, tx tenant.Tx, r *Request, f *Flow) error
	// Login checks the submitted credentials.
	Login(ctx context.Context, tx tenant.Tx, r *Request, f *Flow) (*LoginResult, error)
}

// RegistrationResult is the identity a registration strategy created (in
// the flow's transaction); the flow handler then runs the hooks (session).
type RegistrationResult struct {
	IdentityID uuid.UUID
	Method     session.AuthenticationMethod
	// Identity is the identity as created, when the strategy has it:
	// registration answers with it unless a hook changed the identity.
	Identity *identity.Identity
}

// RegistrationStrategy creates identities with credentials of its kind.
type RegistrationStrategy interface {
	Strategy
	// PopulateRegistration adds the method's nodes (traits from the
	// identity schema, credential inputs, submit) to a new flow.
	PopulateRegistration(ctx context.Context, tx tenant.Tx, r *Request, f *Flow) error
	// Register validates the submit and creates the identity in tx.
	Register(ctx context.Context, tx tenant.Tx, r *Request, f *Flow) (*RegistrationResult, error)
}

// SettingsResult is a validated settings change, not yet applied.
type SettingsResult struct {
	// Privileged is set when the change touches credentials, identifier
	// traits or addresses: the handler then requires a recent login
	// (session_refresh_required) before it calls Apply.
	Privileged bool
	// Apply makes the change.
	Apply func(ctx context.Context) error
}

// SettingsStrategy changes an identity's traits or credentials.
type SettingsStrategy interface {
	Strategy
	// PopulateSettings adds the method's nodes for the flow's identity.
	PopulateSettings(ctx context.Context, tx tenant.Tx, r *Request, f *Flow) error
	// Settings validates the submit (a *ValidationError for user errors)
	// and returns the change to apply.
	Settings(ctx context.Context, tx tenant.Tx, r *Request, f *Flow) (*SettingsResult, error)
}

// Methods are the enabled strategies of a deployment, in the order their
// nodes appear.
type Methods struct {
	Login        []LoginStrategy
	Registration []RegistrationStrategy
	Settings     []SettingsStrategy
}

// LoginMethod returns the login strategy for a method, or nil.
func (m Methods) LoginMethod(id string) LoginStrategy { return find(m.Login, id) }

// RegistrationMethod returns the registration strategy for a method, or nil.
func (m Methods) RegistrationMethod(id string) RegistrationStrategy { return find(m.Registration, id) }

// SettingsMethod returns the settings strategy for a method, or nil.
func (m Methods) SettingsMethod(id string) SettingsStrategy { return find(m.Settings, id) }

func find[S Strategy](list []S, id string) S {
	var zero S
	for _, s := range list {
		if s.ID() == id {
			return s
		}
	}
	return zero
}

// ErrNotResponsible is returned by a strategy for a body it does not
// handle.
var ErrNotResponsible = errNotResponsible{}

type errNotResponsible struct{}

func (errNotResponsible) Error() string { return "strategy is not responsible for this request" }

// ValidationError is a user error of a submit: flow-level messages and
// messages per node name (dotted, e.g. traits.email). The handler renders
// the flow with them and answers 400.
type ValidationError struct {
	Flow  []*Text
	Nodes map[string][]*Text
	// Values are the submitted values to keep in the form.
	Values map[string]any
}

func (e *ValidationError) Error() string {
	for _, t := range e.Flow {
		return t.Text
	}
	for _, ts := range e.Nodes {
		for _, t := range ts {
			return t.Text
		}
	}
	return "validation failed"
}

// NewValidationError returns a flow-level validation error.
func NewValidationError(ts ...*Text) *ValidationError { return &ValidationError{Flow: ts} }

// AddNode adds a message for a node.
func (e *ValidationError) AddNode(name string, t *Text) *ValidationError {
	if e.Nodes == nil {
		e.Nodes = map[string][]*Text{}
	}
	e.Nodes[name] = append(e.Nodes[name], t)
	return e
}

// Apply writes the error's messages and kept values into f's UI, after
// clearing the previous submit's messages.
func (e *ValidationError) Apply(f *Flow) {
	f.UI.ResetMessages()
	for name, v := range e.Values {
		f.UI.SetValue(name, v)
	}
	for _, t := range e.Flow {
		f.UI.AddMessage(t)
	}
	for name, ts := range e.Nodes {
		for _, t := range ts {
			f.UI.AddNodeMessage(name, t)
		}
	}
}

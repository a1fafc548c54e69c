package flows

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// CSRF, as Kratos does it (ory/nosurf): a random 32-byte secret lives in a
// per-project cookie "csrf_token_<hex SHA-256 of the public base URL>"; a
// browser flow stores the hash of the secret it was created with; the
// token in the flow's csrf_token node is the secret masked with a fresh
// one-time pad at every render, so it differs each time while the cookie
// stays stable. A submit must send the token (body csrf_token or header
// X-CSRF-Token) and the cookie, and both must match the flow.

const csrfLen = 32

// HeaderCSRFToken carries the token of AJAX submits.
const HeaderCSRFToken = "X-CSRF-Token"

// CSRFCookieName is the project's CSRF cookie name.
func CSRFCookieName(baseURL string) string {
	h := sha256.Sum256([]byte(baseURL))
	return "csrf_token_" + hex.EncodeToString(h[:])
}

// csrfSecret returns the CSRF secret of the request's cookie, or nil.
func csrfSecret(r *http.Request, baseURL string) []byte {
	ck, err := r.Cookie(CSRFCookieName(baseURL))
	if err != nil {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(ck.Value)
	if err != nil || len(b) != csrfLen {
		return nil
	}
	return b
}

// EnsureCSRF returns the request's CSRF secret, setting a new cookie on w
// when there is none. Browser flows call it at init.
func EnsureCSRF(w http.ResponseWriter, r *http.Request, baseURL string) []byte {
	if s := csrfSecret(r, baseURL); s != nil {
		return s
	}
	return RotateCSRF(w, baseURL)
}

// RotateCSRF sets a new CSRF cookie and returns its secret (after login
// with another identity, logout and recovery).
func RotateCSRF(w http.ResponseWriter, baseURL string) []byte {
	s := make([]byte, csrfLen)
	_, _ = rand.Read(s)
	ck := &http.Cookie{Name: CSRFCookieName(baseURL), Value: base64.StdEncoding.EncodeToString(s), HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds())}
	if u, err := url.Parse(baseURL); err == nil {
		ck.Secure = u.Scheme != "http"
		if p := strings.TrimSuffix(u.Path, "/"); p != "" {
			ck.Path = p
		}
	}
	http.SetCookie(w, ck)
	return s
}

// CSRFHash is what a flow stores of its secret.
func CSRFHash(secret []byte) []byte {
	h := sha256.Sum256(secret)
	return h[:]
}

// MaskCSRF returns a fresh token for secret: base64(pad || pad XOR secret).
func MaskCSRF(secret []byte) string {
	out := make([]byte, 2*csrfLen)
	_, _ = rand.Read(out[:csrfLen])
	for i := range csrfLen {
		out[csrfLen+i] = out[i] ^ secret[i]
	}
	return base64.StdEncoding.EncodeToString(out)
}

func unmaskCSRF(token string) []byte {
	b, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		// tolerate URL-safe encodings and '+' turned into ' ' by forms
		if b, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(token, " ", "+")); err != nil {
			return nil
		}
	}
	if len(b) != 2*csrfLen {
		return nil
	}
	s := make([]byte, csrfLen)
	for i := range csrfLen {
		s[i] = b[i] ^ b[csrfLen+i]
	}
	return s
}

// CSRF rejection reasons (error.details.reject_reason).
const (
	CSRFNoCookie  = "The HTTP Cookie Header was set but did not include the anti-CSRF cookie."
	CSRFNoHeader  = "The HTTP Cookie Header was not set; the anti-CSRF cookie is missing."
	CSRFNoToken   = "The anti-CSRF token was not sent in the csrf_token field or the X-CSRF-Token header."
	CSRFMismatch  = "The anti-CSRF cookie and the csrf_token do not match, or belong to another flow."
	csrfHintAJAX  = "The request was made with AJAX: make sure credentials are included (fetch credentials: \"include\", axios withCredentials) and that the API is on the same site as the app."
	csrfHintOther = "Make sure the request forwards the Cookie header it received from the browser and the csrf_token from the flow."
)

// CSRFError is the 403 security_csrf_violation with Kratos's details.
func CSRFError(r *http.Request, reason string) *errx.Error {
	hint := csrfHintOther
	if m := r.Header.Get("Sec-Fetch-Mode"); m == "cors" || m == "same-origin" {
		hint = csrfHintAJAX
	}
	return errx.New(errx.Forbidden, "A request failed due to a missing or invalid csrf_token value.").
		WithID("security_csrf_violation").
		WithDetails(map[string]any{"docs": "https://www.ory.sh/kratos/docs/debug/csrf", "hint": hint, "reject_reason": reason})
}

func csrfCookieProblem(r *http.Request) string {
	if r.Header.Get("Cookie") == "" {
		return CSRFNoHeader
	}
	return CSRFNoCookie
}

// CheckFlowCookie is the check of GET …/flows?id=: a browser flow is shown
// only to the browser holding its CSRF cookie. API flows pass.
func CheckFlowCookie(r *http.Request, baseURL string, f *Flow) error {
	if f.Type != TypeBrowser {
		return nil
	}
	s := csrfSecret(r, baseURL)
	if s == nil {
		return CSRFError(r, csrfCookieProblem(r))
	}
	if subtle.ConstantTimeCompare(CSRFHash(s), f.CSRFHash) != 1 {
		return CSRFError(r, CSRFMismatch)
	}
	return nil
}

// CheckSubmit is the check of a browser flow submit: the token (form field
// or X-CSRF-Token) must unmask to the cookie's secret, and the cookie must
// be the flow's. API flows pass (they are checked by CheckAPIRequest).
func CheckSubmit(r *http.Request, baseURL string, f *Flow, bodyToken string) error {
	if f.Type != TypeBrowser {
		return nil
	}
	s := csrfSecret(r, baseURL)
	if s == nil {
		return CSRFError(r, csrfCookieProblem(r))
	}
	token := bodyToken
	if token == "" {
		token = r.Header.Get(HeaderCSRFToken)
	}
	if token == "" {
		return CSRFError(r, CSRFNoToken)
	}
	got := unmaskCSRF(token)
	if got == nil || subtle.ConstantTimeCompare(got, s) != 1 || subtle.ConstantTimeCompare(CSRFHash(s), f.CSRFHash) != 1 {
		return CSRFError(r, CSRFMismatch)
	}
	return nil
}

// CheckAPIRequest refuses API-flow submits that look like they come from a
// browser: an Origin header or any cookie except Cloudflare's (__cf*, _cf*,
// cf_*). Kratos answers them with a 400 flow carrying 4000001, so the
// caller adds the returned text to the flow.
func CheckAPIRequest(r *http.Request) *Text {
	if r.Header.Get("Origin") != "" {
		return Generic("API flows can not be used from browsers: the request carried an Origin header. Use the browser flow instead.")
	}
	for _, ck := range r.Cookies() {
		n := strings.ToLower(ck.Name)
		if strings.HasPrefix(n, "__cf") || strings.HasPrefix(n, "_cf") || strings.HasPrefix(n, "cf_") {
			continue
		}
		return Generic("API flows can not be used from browsers: the request carried cookies. Use the browser flow instead.")
	}
	return nil
}

// AddCSRFNode puts a fresh csrf_token node in f's UI (API flows get one as
// well, unchecked, as in Kratos).
func AddCSRFNode(f *Flow, secret []byte) {
	token := ""
	if secret != nil {
		token = MaskCSRF(secret)
	}
	n := NewInput(GroupDefault, "csrf_token", InputHidden, token, nil)
	n.Input().Required = true
	f.UI.Upsert(n)
}

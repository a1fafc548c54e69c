package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/tenant"
)

// recorder saves real answers of a Lanyard project as the JSON fixtures of
// @lanyard/react's component tests (sdk/js/react/test/fixtures/). Each
// answer is also checked against the OpenAPI document.
type recorder struct {
	t     *testing.T
	s     *codetest.Site
	dir   string
	saved map[string]bool
}

// fixture is one recorded exchange.
type fixture struct {
	Request struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Body   any    `json:"body,omitempty"`
	} `json:"request"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// call makes a request and, when name is not empty, saves it as name.json.
func (r *recorder) call(c *http.Client, name, method, path string, body any, hdr map[string]string) (int, map[string]any) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = r.s.Base + path
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	openapitest.CheckResponse(r.t, req, res.StatusCode, res.Header, b)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			r.t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	}
	if name != "" {
		var f fixture
		f.Request.Method = method
		f.Request.Path = strings.TrimPrefix(u, r.s.Base)
		f.Request.Body = body
		f.Status = res.StatusCode
		f.Body = b
		out, _ := json.MarshalIndent(f, "", "  ")
		if err := os.WriteFile(filepath.Join(r.dir, name+".json"), append(out, '\n'), 0o644); err != nil {
			r.t.Fatal(err)
		}
		r.saved[name] = true
	}
	return res.StatusCode, m
}

// want fails unless the status is as expected and, for flows, the message
// ids are there.
func (r *recorder) want(what string, status, wantStatus int, m map[string]any, ids ...int) {
	r.t.Helper()
	if status != wantStatus {
		raw, _ := json.Marshal(m)
		r.t.Fatalf("%s: status %d, want %d: %s", what, status, wantStatus, raw)
	}
	for _, id := range ids {
		if !codetest.HasID(m, id) {
			raw, _ := json.Marshal(m)
			r.t.Fatalf("%s: no message %d in %s", what, id, raw)
		}
	}
}

// TestRecordReactFixtures records the flows @lanyard/react's tests render:
// every kind (login, registration, settings, verification, recovery), as a
// browser and an API flow, fresh, with errors, after success, expired
// (410) and redirected (422). It writes only when LANYARD_RECORD_FIXTURES=1:
//
//	LANYARD_RECORD_FIXTURES=1 go test -run TestRecordReactFixtures ./flows/
func TestRecordReactFixtures(t *testing.T) {
	if os.Getenv("LANYARD_RECORD_FIXTURES") != "1" {
		t.Skip("set LANYARD_RECORD_FIXTURES=1 to record sdk/js/react/test/fixtures")
	}
	dir, err := filepath.Abs(filepath.Join("..", "sdk", "js", "react", "test", "fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	olds, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range olds {
		_ = os.Remove(f)
	}
	s := codetest.NewSite(t)
	r := &recorder{t: t, s: s, dir: dir, saved: map[string]bool{}}
	const password = "correct horse battery staple"
	email := codetest.Address(t)

	// Registration: a browser flow, a too-short password (values kept), a
	// success that shows the verification UI; then a duplicate.
	b := codetest.Client()
	st, f := r.call(b, "registration-browser", "GET", "/self-service/registration/browser", nil, nil)
	r.want("registration browser", st, 200, f)
	csrf := codetest.NodeValue(f, "csrf_token")
	st, f = r.call(b, "registration-browser-invalid", "POST", codetest.Action(f),
		map[string]any{"method": "password", "csrf_token": csrf, "traits": map[string]any{"email": email}, "password": "short"}, nil)
	r.want("registration invalid", st, 400, f, flows.ErrValidationPasswordTooShort)
	st, m := r.call(b, "registration-browser-success", "POST", codetest.Action(f),
		map[string]any{"method": "password", "csrf_token": codetest.NodeValue(f, "csrf_token"), "traits": map[string]any{"email": email}, "password": password}, nil)
	r.want("registration success", st, 200, m)
	st, f = r.call(codetest.Client(), "registration-api", "GET", "/self-service/registration/api", nil, nil)
	r.want("registration api", st, 200, f)
	st, f = r.call(codetest.Client(), "registration-api-duplicate", "POST", codetest.Action(f),
		map[string]any{"method": "password", "traits": map[string]any{"email": email}, "password": password}, nil)
	r.want("registration duplicate", st, 400, f, flows.ErrValidationDuplicate)
	other := codetest.Address(t)
	st, f = r.call(codetest.Client(), "", "GET", "/self-service/registration/api", nil, nil)
	r.want("registration api 2", st, 200, f)
	st, m = r.call(codetest.Client(), "registration-api-success", "POST", codetest.Action(f),
		map[string]any{"method": "password", "traits": map[string]any{"email": other}, "password": password}, nil)
	r.want("registration api success", st, 200, m)
	token, _ := m["session_token"].(string)

	// Settings: the browser (cookie) and API (token) flows, a bad password,
	// a saved profile.
	st, f = r.call(b, "settings-browser", "GET", "/self-service/settings/browser", nil, nil)
	r.want("settings browser", st, 200, f)
	st, f = r.call(b, "settings-browser-invalid", "POST", codetest.Action(f),
		map[string]any{"method": "password", "csrf_token": codetest.NodeValue(f, "csrf_token"), "password": "short"}, nil)
	r.want("settings invalid", st, 400, f, flows.ErrValidationPasswordTooShort)
	st, f = r.call(b, "settings-browser-success", "POST", codetest.Action(f),
		map[string]any{"method": "profile", "csrf_token": codetest.NodeValue(f, "csrf_token"), "traits": map[string]any{"email": email}}, nil)
	r.want("settings success", st, 200, f, flows.InfoSettingsSaved)
	tokenHdr := map[string]string{"X-Session-Token": token}
	st, f = r.call(codetest.Client(), "settings-api", "GET", "/self-service/settings/api", nil, tokenHdr)
	r.want("settings api", st, 200, f)
	st, f = r.call(codetest.Client(), "settings-api-invalid", "POST", codetest.Action(f), map[string]any{"method": "password", "password": "short"}, tokenHdr)
	r.want("settings api invalid", st, 400, f, flows.ErrValidationPasswordTooShort)

	// Login: browser and API flows, wrong credentials, success.
	lb := codetest.Client()
	st, f = r.call(lb, "login-browser", "GET", "/self-service/login/browser", nil, nil)
	r.want("login browser", st, 200, f)
	st, f = r.call(lb, "login-browser-invalid", "POST", codetest.Action(f),
		map[string]any{"method": "password", "csrf_token": codetest.NodeValue(f, "csrf_token"), "identifier": email, "password": "not the password"}, nil)
	r.want("login invalid", st, 400, f, flows.ErrValidationInvalidCredentials)
	st, m = r.call(lb, "login-browser-success", "POST", codetest.Action(f),
		map[string]any{"method": "password", "csrf_token": codetest.NodeValue(f, "csrf_token"), "identifier": email, "password": password}, nil)
	r.want("login success", st, 200, m)
	st, f = r.call(codetest.Client(), "login-api", "GET", "/self-service/login/api", nil, nil)
	r.want("login api", st, 200, f)
	st, f = r.call(codetest.Client(), "login-api-invalid", "POST", codetest.Action(f),
		map[string]any{"method": "password", "identifier": "", "password": ""}, nil)
	r.want("login api invalid", st, 400, f)

	// An expired browser login flow: 410 with use_flow_id, and the
	// replacement carrying the expiry message.
	eb := codetest.Client()
	st, f = r.call(eb, "login-browser-expiring", "GET", "/self-service/login/browser", nil, nil)
	r.want("login browser 2", st, 200, f)
	id := f["id"].(string)
	err = s.Deps.DB.InTx(context.Background(), s.Project.Project, func(tx tenant.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE selfservice_flows SET body = jsonb_set(body, '{expires_at}', to_jsonb((now() - interval '2 minutes')::text::timestamptz)) WHERE id = $1`, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	st, m = r.call(eb, "login-browser-expired", "POST", codetest.Action(f),
		map[string]any{"method": "password", "csrf_token": codetest.NodeValue(f, "csrf_token"), "identifier": email, "password": password}, nil)
	r.want("login expired", st, 410, m)
	st, f = r.call(eb, "login-browser-replacement", "GET", "/self-service/login/flows?id="+m["use_flow_id"].(string), nil, nil)
	r.want("login replacement", st, 200, f, flows.ErrLoginExpired)

	// Verification: browser and API flows, the code sent, a wrong code,
	// the right one.
	vb := codetest.Client()
	st, f = r.call(vb, "verification-browser", "GET", "/self-service/verification/browser", nil, nil)
	r.want("verification browser", st, 200, f)
	st, f = r.call(vb, "verification-browser-sent", "POST", codetest.Action(f),
		map[string]any{"method": "code", "csrf_token": codetest.NodeValue(f, "csrf_token"), "email": email}, nil)
	r.want("verification sent", st, 200, f, flows.InfoVerificationCodeSent)
	code := codetest.CodeOf(t, codetest.WaitMail(t, email, 2)) // the registration's mail, then this one
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	st, f = r.call(vb, "verification-browser-invalid", "POST", codetest.Action(f),
		map[string]any{"method": "code", "csrf_token": codetest.NodeValue(f, "csrf_token"), "code": wrong}, nil)
	r.want("verification invalid", st, 200, f, flows.ErrVerificationCodeInvalid)
	st, f = r.call(vb, "verification-browser-passed", "POST", codetest.Action(f),
		map[string]any{"method": "code", "csrf_token": codetest.NodeValue(f, "csrf_token"), "code": code}, nil)
	r.want("verification passed", st, 200, f, flows.InfoVerificationSuccess)
	st, f = r.call(codetest.Client(), "verification-api", "GET", "/self-service/verification/api", nil, nil)
	r.want("verification api", st, 200, f)
	st, f = r.call(codetest.Client(), "verification-api-sent", "POST", codetest.Action(f), map[string]any{"method": "code", "email": other}, nil)
	r.want("verification api sent", st, 200, f, flows.InfoVerificationCodeSent)
	st, f = r.call(codetest.Client(), "verification-api-invalid", "POST", codetest.Action(f), map[string]any{"method": "code", "code": "12"}, nil)
	r.want("verification api invalid", st, 200, f, flows.ErrVerificationCodeInvalid)

	// Recovery: browser and API flows, the code sent, a wrong code, the
	// right one (a browser JSON client gets 422 to the settings UI).
	rb := codetest.Client()
	st, f = r.call(rb, "recovery-browser", "GET", "/self-service/recovery/browser", nil, nil)
	r.want("recovery browser", st, 200, f)
	st, f = r.call(rb, "recovery-browser-sent", "POST", codetest.Action(f),
		map[string]any{"method": "code", "csrf_token": codetest.NodeValue(f, "csrf_token"), "email": email}, nil)
	r.want("recovery sent", st, 200, f, flows.InfoRecoveryCodeSent)
	code = codetest.CodeOf(t, codetest.WaitMail(t, email, 3))
	wrong = "000000"
	if code == wrong {
		wrong = "111111"
	}
	st, f = r.call(rb, "recovery-browser-invalid", "POST", codetest.Action(f),
		map[string]any{"method": "code", "csrf_token": codetest.NodeValue(f, "csrf_token"), "code": wrong}, nil)
	r.want("recovery invalid", st, 200, f, flows.ErrRecoveryCodeInvalid)
	st, m = r.call(rb, "recovery-browser-redirect", "POST", codetest.Action(f),
		map[string]any{"method": "code", "csrf_token": codetest.NodeValue(f, "csrf_token"), "code": code}, nil)
	r.want("recovery redirect", st, 422, m)
	st, f = r.call(codetest.Client(), "recovery-api", "GET", "/self-service/recovery/api", nil, nil)
	r.want("recovery api", st, 200, f)
	st, f = r.call(codetest.Client(), "recovery-api-sent", "POST", codetest.Action(f), map[string]any{"method": "code", "email": other}, nil)
	r.want("recovery api sent", st, 200, f, flows.InfoRecoveryCodeSent)
	st, f = r.call(codetest.Client(), "recovery-api-invalid", "POST", codetest.Action(f), map[string]any{"method": "code", "code": "12"}, nil)
	r.want("recovery api invalid", st, 200, f, flows.ErrRecoveryCodeInvalid)

	// A project whose schema has every input type: tel, number, date, url,
	// a checkbox; its registration flow, then an answer with errors that
	// echoes the values sent.
	rich := codetest.NewSite(t)
	if err := rich.Deps.Identities.SaveSchema(context.Background(), rich.Project.Project, "default", []byte(richSchema), true); err != nil {
		t.Fatal(err)
	}
	rr := &recorder{t: t, s: rich, dir: dir, saved: r.saved}
	rc := codetest.Client()
	st, f = rr.call(rc, "registration-browser-types", "GET", "/self-service/registration/browser", nil, nil)
	r.want("registration types", st, 200, f)
	st, f = rr.call(rc, "registration-browser-types-invalid", "POST", codetest.Action(f), map[string]any{
		"method": "password", "csrf_token": codetest.NodeValue(f, "csrf_token"), "password": "short",
		"traits": map[string]any{"email": codetest.Address(t), "phone": "+15550100", "age": 41, "birthday": "1985-04-12",
			"website": "https://example.com/ada", "newsletter": true},
	}, nil)
	r.want("registration types invalid", st, 400, f, flows.ErrValidationPasswordTooShort)

	names := make([]string, 0, len(r.saved))
	for n := range r.saved {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("recorded %d fixtures in %s: %s", len(names), dir, strings.Join(names, ", "))
}

// TestLanyardReactBrowser builds sdk/js/react/e2e (a small Vite app on
// @lanyard/react and @lanyard/client) and drives it in headless Chromium
// with playwright-core against a real project: sign up, verify the email
// with the code from Mailpit, see the session, sign out, a wrong password
// (the message, the identifier kept), sign in. The app and the project API
// share one origin, as in TestOryElementsBrowser. Screenshots go to
// test-output/react/ at the repository root.
func TestLanyardReactBrowser(t *testing.T) {
	t.Parallel()
	js, err := filepath.Abs(filepath.Join("..", "sdk", "js"))
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(js, "react")
	for _, m := range []string{"react", "playwright-core", "vite", "openapi-fetch"} {
		if _, err := os.Stat(filepath.Join(js, "node_modules", m)); err != nil {
			t.Skipf("sdk/js/node_modules is missing %s: run `npm ci` in sdk/js first (%v)", m, err)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	chromium := chromiumPath()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("Chromium is not installed at %s (apt-get install chromium): %v", chromium, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	build := exec.CommandContext(ctx, "npm", "run", "--silent", "e2e:build")
	build.Dir = pkg
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("npm run e2e:build failed: %v\n%s", err, out)
	}
	dist := filepath.Join(pkg, "e2e", "dist")
	index, err := os.ReadFile(filepath.Join(dist, "index.html"))
	if err != nil {
		t.Fatal(err)
	}

	s := codetest.NewSite(t) // a project, and the courier worker that mails the codes
	p := s.Project.Project
	api := server.APIRouter(s.Deps)
	files := http.FileServer(http.Dir(dist))
	mux := http.NewServeMux()
	mux.Handle("/p/", api)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			files.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sdk := srv.URL + "/p/" + p.Slug

	err = s.Deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		c := flows.DefaultConfig()
		for _, kind := range []string{"login", "registration", "settings", "recovery", "verification", "error"} {
			c.UI[kind] = srv.URL + "/ui/" + kind
		}
		c.AllowedReturnURLs = []string{srv.URL + "/"}
		c.DefaultReturnURL = srv.URL + "/ui/welcome"
		return flows.SaveConfig(ctx, tx, c)
	})
	if err != nil {
		t.Fatal(err)
	}

	out, err := filepath.Abs(filepath.Join("..", "test-output", "react"))
	if err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	mailpit := os.Getenv("LANYARD_TEST_MAILPIT_API")
	if mailpit == "" {
		mailpit = "http://127.0.0.1:8025"
	}
	email := codetest.Address(t)
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", filepath.Join("e2e", "e2e.test.mjs"))
	cmd.Dir = pkg
	cmd.Env = append(os.Environ(),
		"E2E_APP_URL="+srv.URL,
		"LANYARD_URL="+sdk,
		"CHROMIUM="+chromium,
		"SCREENSHOTS="+out,
		"MAILPIT_API="+mailpit,
		"E2E_EMAIL="+email,
	)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test e2e/e2e.test.mjs failed: %v\n%s", err, res)
	}
	t.Logf("node --test e2e/e2e.test.mjs:\n%s", res)

	// What the browser did is in the database too: the address is verified.
	verified, err := addressVerified(s, email)
	if err != nil || !verified {
		t.Fatalf("the address %s is not verified after the browser run (%v)", email, err)
	}
}

// addressVerified asks the admin API whether email's address is verified.
func addressVerified(s *codetest.Site, email string) (bool, error) {
	req, _ := http.NewRequest("GET", s.Base+"/admin/identities?credentials_identifier="+url.QueryEscape(email), nil)
	req.Header.Set("Authorization", "Bearer "+s.Project.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	var list []struct {
		VerifiableAddresses []struct {
			Value    string `json:"value"`
			Verified bool   `json:"verified"`
		} `json:"verifiable_addresses"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		return false, err
	}
	if len(list) != 1 {
		return false, fmt.Errorf("%d identities for %s", len(list), email)
	}
	for _, a := range list[0].VerifiableAddresses {
		if a.Value == email {
			return a.Verified, nil
		}
	}
	return false, fmt.Errorf("no address %s", email)
}

// richSchema has a trait of every input type the flows render.
const richSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {"type": "string", "format": "email", "title": "E-Mail",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "email"}, "recovery": {"via": "email"}}},
        "phone": {"type": "string", "format": "tel", "title": "Phone"},
        "age": {"type": "integer", "title": "Age", "minimum": 0},
        "birthday": {"type": "string", "format": "date", "title": "Birthday"},
        "website": {"type": "string", "format": "uri", "title": "Website"},
        "newsletter": {"type": "boolean", "title": "Send me the newsletter"}
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}`

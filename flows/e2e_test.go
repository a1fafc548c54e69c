package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// site is one project served over real HTTP, addressed by path prefix.
type site struct {
	t       *testing.T
	project *tenant.Project
	srv     *httptest.Server
	base    string
	db      *tenant.DB
}

func newSite(t *testing.T) *site {
	t.Helper()
	p := tenanttest.NewProject(t).Project
	deps := servertest.Deps(t)
	srv := httptest.NewServer(server.APIRouter(deps))
	t.Cleanup(srv.Close)
	return &site{t: t, project: p, srv: srv, base: srv.URL + "/p/" + p.Slug, db: deps.DB}
}

// client returns an HTTP client that keeps cookies and does not follow
// redirects.
func (s *site) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func (s *site) call(c *http.Client, method, path string, body any, hdr map[string]string) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd = strings.NewReader(b.Encode())
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = s.base + path
	}
	req, _ := http.NewRequest(method, u, rd)
	switch body.(type) {
	case nil:
	case url.Values:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	openapitest.CheckResponse(s.t, req, res.StatusCode, res.Header, b)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func want(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
}

var jsonHdr = map[string]string{"Accept": "application/json"}

// nodeValue finds the value of an input node in a flow.
func nodeValue(t *testing.T, flow map[string]any, name string) any {
	t.Helper()
	for _, n := range flow["ui"].(map[string]any)["nodes"].([]any) {
		a := n.(map[string]any)["attributes"].(map[string]any)
		if a["name"] == name {
			return a["value"]
		}
	}
	t.Fatalf("flow has no node %q", name)
	return nil
}

func messageIDs(flow map[string]any) []float64 {
	var ids []float64
	ui := flow["ui"].(map[string]any)
	if ms, ok := ui["messages"].([]any); ok {
		for _, m := range ms {
			ids = append(ids, m.(map[string]any)["id"].(float64))
		}
	}
	for _, n := range ui["nodes"].([]any) {
		for _, m := range n.(map[string]any)["messages"].([]any) {
			ids = append(ids, m.(map[string]any)["id"].(float64))
		}
	}
	return ids
}

func hasID(ids []float64, id float64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestAPIRegisterWhoamiLogoutLogin(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := &http.Client{}

	r := s.call(c, "GET", "/self-service/registration/api", nil, nil)
	want(t, r, 200)
	flow := r.json(t)
	if flow["type"] != "api" || flow["state"] != "choose_method" {
		t.Fatalf("flow = %s", r.body)
	}
	for _, n := range []string{"csrf_token", "traits.email", "traits.name.first", "password", "method"} {
		nodeValue(t, flow, n)
	}
	action := flow["ui"].(map[string]any)["action"].(string)
	if action != s.base+"/self-service/registration?flow="+flow["id"].(string) {
		t.Fatalf("action = %s", action)
	}
	// Validation: bad email, short password → 400 flow with node messages.
	r = s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": "nope"}, "password": "short"}, nil)
	want(t, r, 400)
	if ids := messageIDs(r.json(t)); len(ids) == 0 {
		t.Fatalf("no messages in %s", r.body)
	}
	r = s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": "ann@example.com"}, "password": "short"}, nil)
	want(t, r, 400)
	if f := r.json(t); !hasID(messageIDs(f), 4000032) || nodeValue(t, f, "traits.email") != "ann@example.com" {
		t.Fatalf("policy answer = %s", r.body)
	}
	r = s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": "ann@example.com"}, "password": "ann@example.com1"}, nil)
	if !hasID(messageIDs(r.json(t)), 4000031) {
		t.Fatalf("similar password accepted: %s", r.body)
	}
	r = s.call(c, "POST", action, map[string]any{"method": "nope"}, nil)
	want(t, r, 400)
	if !hasID(messageIDs(r.json(t)), 4010003) {
		t.Fatalf("unknown method answer = %s", r.body)
	}
	r = s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": "Ann@Example.com"}, "password": "correct horse battery"}, nil)
	want(t, r, 200)
	reg := r.json(t)
	token, _ := reg["session_token"].(string)
	cw := reg["continue_with"].([]any)[0].(map[string]any)
	if !strings.HasPrefix(token, "lyst_") || cw["action"] != "set_ory_session_token" || cw["ory_session_token"] != token ||
		reg["identity"].(map[string]any)["traits"].(map[string]any)["email"] != "Ann@Example.com" {
		t.Fatalf("registration answer = %s", r.body)
	}
	firstSession := reg["session"].(map[string]any)["id"]
	// The same flow cannot be completed twice.
	r = s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": "bob@example.com"}, "password": "correct horse battery"}, nil)
	want(t, r, 400)
	if !hasID(messageIDs(r.json(t)), 4040002) {
		t.Fatalf("second submit = %s", r.body)
	}
	// A second registration of the same address is refused with 4000007.
	r = s.call(c, "GET", "/self-service/registration/api", nil, nil)
	action2 := r.json(t)["ui"].(map[string]any)["action"].(string)
	r = s.call(c, "POST", action2, map[string]any{"method": "password", "traits": map[string]any{"email": "ann@example.com"}, "password": "another good password"}, nil)
	want(t, r, 400)
	if !hasID(messageIDs(r.json(t)), 4000007) {
		t.Fatalf("duplicate answer = %s", r.body)
	}

	tok := map[string]string{"X-Session-Token": token}
	want(t, s.call(c, "GET", "/sessions/whoami", nil, tok), 200)
	// Login is refused while signed in.
	r = s.call(c, "GET", "/self-service/login/api", nil, tok)
	want(t, r, 400)
	if r.json(t)["error"].(map[string]any)["id"] != "session_already_available" {
		t.Fatalf("login with session = %s", r.body)
	}
	want(t, s.call(c, "DELETE", "/self-service/logout/api", map[string]any{"session_token": token}, nil), 204)
	want(t, s.call(c, "GET", "/sessions/whoami", nil, tok), 401)
	// Already revoked: 204 again (Kratos: idempotent); an unknown token: 403.
	want(t, s.call(c, "DELETE", "/self-service/logout/api", map[string]any{"session_token": token}, nil), 204)
	want(t, s.call(c, "GET", "/sessions/whoami", nil, tok), 401)
	want(t, s.call(c, "DELETE", "/self-service/logout/api", map[string]any{"session_token": token[:len(token)-4] + "zzzz"}, nil), 403)
	want(t, s.call(c, "DELETE", "/self-service/logout/api", map[string]any{"session_token": "not-a-token"}, nil), 403)

	// Login: unknown identifier and wrong password answer alike.
	r = s.call(c, "GET", "/self-service/login/api", nil, nil)
	want(t, r, 200)
	lf := r.json(t)
	if lf["refresh"] != false || lf["requested_aal"] != "aal1" {
		t.Fatalf("login flow = %s", r.body)
	}
	laction := lf["ui"].(map[string]any)["action"].(string)
	for _, body := range []map[string]any{
		{"method": "password", "identifier": "nobody@example.com", "password": "correct horse battery"},
		{"method": "password", "identifier": "ann@example.com", "password": "wrong horse battery"},
	} {
		r = s.call(c, "POST", laction, body, nil)
		want(t, r, 400)
		f := r.json(t)
		if ids := messageIDs(f); len(ids) != 1 || ids[0] != 4000006 || nodeValue(t, f, "identifier") != body["identifier"] || nodeValue(t, f, "password") != nil {
			t.Fatalf("bad login answer = %s", r.body)
		}
	}
	r = s.call(c, "POST", laction, map[string]any{"method": "password", "identifier": " ANN@example.com ", "password": "correct horse battery"}, nil)
	want(t, r, 200)
	login := r.json(t)
	if login["session"].(map[string]any)["id"] == firstSession || !strings.HasPrefix(login["session_token"].(string), "lyst_") {
		t.Fatalf("login answer = %s", r.body)
	}
	want(t, s.call(c, "GET", "/sessions/whoami", nil, map[string]string{"X-Session-Token": login["session_token"].(string)}), 200)

	// API flows refuse browser-looking requests.
	r = s.call(c, "GET", "/self-service/login/api", nil, nil)
	laction = r.json(t)["ui"].(map[string]any)["action"].(string)
	r = s.call(c, "POST", laction, map[string]any{"method": "password", "identifier": "ann@example.com", "password": "correct horse battery"},
		map[string]string{"Cookie": "tracking=1"})
	want(t, r, 400)
	if !hasID(messageIDs(r.json(t)), 4000001) {
		t.Fatalf("cookie on API flow = %s", r.body)
	}
}

func TestBrowserFlowsWithCookies(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()

	// A plain browser navigation is redirected to the UI.
	r := s.call(c, "GET", "/self-service/registration/browser", nil, nil)
	want(t, r, 303)
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, s.base+"/ui/registration?flow=") {
		t.Fatalf("Location = %s", loc)
	}
	id := strings.TrimPrefix(loc, s.base+"/ui/registration?flow=")
	r = s.call(c, "GET", "/self-service/registration/flows?id="+id, nil, nil)
	want(t, r, 200)
	flow := r.json(t)
	csrf := nodeValue(t, flow, "csrf_token").(string)
	if csrf == "" || flow["type"] != "browser" {
		t.Fatalf("browser flow = %s", r.body)
	}
	// Another browser (no cookie) may not read or submit it.
	other := s.client()
	r = s.call(other, "GET", "/self-service/registration/flows?id="+id, nil, nil)
	want(t, r, 403)
	if r.json(t)["error"].(map[string]any)["id"] != "security_csrf_violation" {
		t.Fatalf("foreign read = %s", r.body)
	}
	action := flow["ui"].(map[string]any)["action"].(string)
	good := map[string]any{"method": "password", "traits": map[string]any{"email": "cat@example.com"}, "password": "correct horse battery", "csrf_token": csrf}
	r = s.call(other, "POST", action, good, jsonHdr)
	want(t, r, 403)
	noToken := map[string]any{"method": "password", "traits": map[string]any{"email": "cat@example.com"}, "password": "correct horse battery"}
	r = s.call(c, "POST", action, noToken, jsonHdr)
	want(t, r, 403)
	if d := r.json(t)["error"].(map[string]any)["details"].(map[string]any); d["reject_reason"] == nil {
		t.Fatalf("csrf details = %s", r.body)
	}
	// JSON submit with the token: 200 + session cookie, no token in the body.
	r = s.call(c, "POST", action, good, jsonHdr)
	want(t, r, 200)
	body := r.json(t)
	if _, ok := body["session_token"]; ok {
		t.Fatalf("browser registration leaked a token: %s", r.body)
	}
	cw := body["continue_with"].([]any)[0].(map[string]any)
	if cw["action"] != "redirect_browser_to" || cw["redirect_browser_to"] != s.base+"/" {
		t.Fatalf("continue_with = %v", cw)
	}
	var sc string
	for _, v := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "lanyard_session=") {
			sc = v
		}
	}
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Path=/p/"+s.project.Slug) || strings.Contains(sc, "Secure") {
		t.Fatalf("session cookie = %q", sc)
	}
	want(t, s.call(c, "GET", "/sessions/whoami", nil, nil), 200)
	want(t, s.call(other, "GET", "/sessions/whoami", nil, nil), 401)

	// Signed in: browser init of login goes straight on.
	r = s.call(c, "GET", "/self-service/login/browser", nil, nil)
	want(t, r, 303)
	if r.header.Get("Location") != s.base+"/" {
		t.Fatalf("Location = %s", r.header.Get("Location"))
	}
	// Logout through the logout URL.
	r = s.call(c, "GET", "/self-service/logout/browser", nil, jsonHdr)
	want(t, r, 200)
	lo := r.json(t)
	if !strings.HasPrefix(lo["logout_token"].(string), "lylo_") || !strings.HasPrefix(lo["logout_url"].(string), s.base+"/self-service/logout?token=") {
		t.Fatalf("logout flow = %s", r.body)
	}
	want(t, s.call(other, "GET", "/self-service/logout/browser", nil, jsonHdr), 401)
	r = s.call(c, "GET", lo["logout_url"].(string), nil, nil)
	want(t, r, 303)
	want(t, s.call(c, "GET", "/sessions/whoami", nil, nil), 401)

	// Form login with return_to: 303 to return_to with a fresh session.
	r = s.call(c, "GET", "/self-service/login/browser?return_to="+url.QueryEscape(s.base+"/welcome"), nil, jsonHdr)
	want(t, r, 200)
	lf := r.json(t)
	if lf["return_to"] != s.base+"/welcome" {
		t.Fatalf("return_to = %v", lf["return_to"])
	}
	form := url.Values{"method": {"password"}, "identifier": {"cat@example.com"}, "password": {"correct horse battery"},
		"csrf_token": {nodeValue(t, lf, "csrf_token").(string)}}
	r = s.call(c, "POST", lf["ui"].(map[string]any)["action"].(string), form, nil)
	want(t, r, 303)
	if r.header.Get("Location") != s.base+"/welcome" {
		t.Fatalf("after login Location = %s", r.header.Get("Location"))
	}
	want(t, s.call(c, "GET", "/sessions/whoami", nil, nil), 200)

	// A return_to outside the allow-list is refused, with no redirect.
	r = s.call(s.client(), "GET", "/self-service/login/browser?return_to="+url.QueryEscape("https://evil.example/"), nil, nil)
	want(t, r, 303) // a browser is sent to the error UI…
	if !strings.HasPrefix(r.header.Get("Location"), s.base+"/ui/error?id=") {
		t.Fatalf("Location = %s", r.header.Get("Location"))
	}
	errID := strings.TrimPrefix(r.header.Get("Location"), s.base+"/ui/error?id=")
	r = s.call(c, "GET", "/self-service/errors?id="+errID, nil, nil)
	if r.json(t)["error"].(map[string]any)["id"] != "self_service_flow_return_to_forbidden" {
		t.Fatalf("stored error = %s", r.body)
	}
	r = s.call(s.client(), "GET", "/self-service/login/browser?return_to="+url.QueryEscape("https://evil.example/"), nil, jsonHdr)
	want(t, r, 400) // …and a JSON client gets the 400
}

func TestExpiredFlowIsReplaced(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := &http.Client{}
	r := s.call(c, "GET", "/self-service/login/api", nil, nil)
	f := r.json(t)
	id := f["id"].(string)
	err := s.db.InTx(context.Background(), s.project, func(tx tenant.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE selfservice_flows SET body = jsonb_set(body, '{expires_at}', to_jsonb((now() - interval '2 minutes')::text::timestamptz)) WHERE id = $1`, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r = s.call(c, "GET", "/self-service/login/flows?id="+id, nil, nil)
	want(t, r, 410)
	r = s.call(c, "POST", f["ui"].(map[string]any)["action"].(string), map[string]any{"method": "password", "identifier": "x", "password": "y"}, nil)
	want(t, r, 410)
	body := r.json(t)
	newID, _ := body["use_flow_id"].(string)
	if body["error"].(map[string]any)["id"] != "self_service_flow_expired" || newID == "" || newID == id || body["since"].(float64) < 1e9*100 {
		t.Fatalf("expired answer = %s", r.body)
	}
	r = s.call(c, "GET", "/self-service/login/flows?id="+newID, nil, nil)
	want(t, r, 200)
	if !hasID(messageIDs(r.json(t)), 4010001) {
		t.Fatalf("replacement flow = %s", r.body)
	}
	// Another project's flow id is unknown here.
	other := newSite(t)
	want(t, other.call(c, "GET", "/self-service/login/flows?id="+newID, nil, nil), 404)
	want(t, s.call(c, "GET", "/self-service/login/flows?id=garbage", nil, nil), 400)
}

func TestConcurrentSubmitIssuesOneSession(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := &http.Client{}
	r := s.call(c, "GET", "/self-service/registration/api", nil, nil)
	action := r.json(t)["ui"].(map[string]any)["action"].(string)
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": "race@example.com"}, "password": "correct horse battery"}, nil).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == 200 {
			ok++
		} else if st != 400 {
			t.Fatalf("statuses = %v", statuses)
		}
	}
	if ok != 1 {
		t.Fatalf("%d submits succeeded (statuses %v), want exactly 1", ok, statuses)
	}
	var n int
	_ = s.db.InTx(context.Background(), s.project, func(tx tenant.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&n)
	})
	if n != 1 {
		t.Fatalf("%d sessions issued", n)
	}
}

func TestLoginBruteForceLimit(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := &http.Client{}
	var last resp
	for i := range 12 {
		r := s.call(c, "GET", "/self-service/login/api", nil, nil)
		action := r.json(t)["ui"].(map[string]any)["action"].(string)
		last = s.call(c, "POST", action, map[string]any{"method": "password", "identifier": "victim@example.com", "password": "guess" + string(rune('a'+i)) + "1234"}, nil)
		if last.status == 429 {
			if i < 10 {
				t.Fatalf("limited after %d attempts", i)
			}
			break
		}
		want(t, last, 400)
	}
	want(t, last, 429)
	if last.header.Get("Retry-After") == "" || last.json(t)["error"].(map[string]any)["id"] != "self_service_rate_limited" {
		t.Fatalf("429 = %v %s", last.header, last.body)
	}
	// Another identifier is not affected.
	r := s.call(c, "GET", "/self-service/login/api", nil, nil)
	r = s.call(c, "POST", r.json(t)["ui"].(map[string]any)["action"].(string), map[string]any{"method": "password", "identifier": "other@example.com", "password": "whatever12"}, nil)
	want(t, r, 400)
}

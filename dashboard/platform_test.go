package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/tenant"
)

func TestAnonymousCallsAre401(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ws := e.personal(e.newAccount(true))
	for _, c := range []struct{ name, method, path, bearer string }{
		{"no credentials", "GET", "/api/v1/me", ""},
		{"no credentials, list", "GET", "/api/v1/workspaces", ""},
		{"no credentials, workspace", "GET", "/api/v1/workspaces/" + ws + "/projects", ""},
		{"garbage bearer", "GET", "/api/v1/me", "nonsense"},
		{"unknown session token", "GET", "/api/v1/workspaces", "lyst_" + strings.Repeat("a", 43)},
		{"unknown workspace token", "GET", "/api/v1/workspaces", "lanyard_wt_" + strings.Repeat("b", 43)},
	} {
		r := e.call(c.method, c.path, nil, c.bearer)
		if er := wantError(t, r, 401); er["reason"] == "" {
			t.Errorf("%s: 401 without a reason: %s", c.name, r.body)
		}
	}
	// A project API key is not a platform credential.
	owner := e.newAccount(true)
	_, _, key := e.newProject(owner, e.personal(owner), "p")
	wantError(t, e.call("GET", "/api/v1/me", nil, key), 401)
}

// TestConsoleSignUpGivesPersonalWorkspace signs up through the console
// project's own registration flow and uses the session on the platform
// API, by token and by cookie.
func TestConsoleSignUpGivesPersonalWorkspace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.project("GET", "console", "/self-service/registration/api", nil, "")
	want(t, r, 200)
	action := r.json(t)["ui"].(map[string]any)["action"].(string)
	u, _ := url.Parse(action)
	r = e.project("POST", "console", strings.TrimPrefix(u.Path, "/p/console")+"?"+u.RawQuery,
		map[string]any{"method": "password", "traits": map[string]any{"email": "new-" + uuid.NewString() + "@example.com"}, "password": "correct horse battery staple"}, "")
	want(t, r, 200)
	token := str(r.json(t), "session_token")
	if token == "" {
		t.Fatalf("no session token: %s", r.body)
	}

	// Several first calls at once make one personal workspace.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := e.rawCall("GET", "/api/v1/me", token)
			if rec.code != 200 {
				t.Errorf("concurrent first call: %d %s", rec.code, rec.body)
			}
		}()
	}
	wg.Wait()
	r = e.call("GET", "/api/v1/workspaces", nil, token)
	want(t, r, 200)
	items := r.items(t)
	if len(items) != 1 {
		t.Fatalf("workspaces = %s, want one personal workspace", r.body)
	}
	w := items[0].(map[string]any)
	if w["role"] != "owner" || w["personal"] != true {
		t.Fatalf("personal workspace = %v", w)
	}
	me := e.call("GET", "/api/v1/me", nil, token).json(t)["account"].(map[string]any)
	if me["personal_workspace_id"] != w["id"] || me["verified"] != false {
		t.Fatalf("me = %v", me)
	}

	// The console session cookie works the same way.
	cfg, err := e.d.Sessions.Config(context.Background(), e.console)
	if err != nil {
		t.Fatal(err)
	}
	r = e.callWith("GET", "/api/v1/workspaces/"+w["id"].(string), nil, func(req *http.Request) {
		req.AddCookie(&http.Cookie{Name: cfg.CookieName, Value: token})
	})
	want(t, r, 200)

	// The console project itself is no account's project and takes no
	// return_to but the dashboard's.
	if r := e.call("GET", "/api/v1/projects/"+e.console.ID.String(), nil, token); r.code != 404 {
		t.Fatalf("console project reachable: %d %s", r.code, r.body)
	}
}

// rawCall is call without the OpenAPI check (for goroutines: t.Fatal
// must not run off the test goroutine).
func (e *env) rawCall(method, path, bearer string) resp {
	req, _ := http.NewRequest(method, path, nil)
	req.Host = "localhost:4000"
	req.Header.Set("Authorization", "Bearer "+bearer)
	rec := newRecorder()
	e.router.ServeHTTP(rec, req)
	return resp{code: rec.Code, body: rec.Body.Bytes()}
}

func TestProjectsAndAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)

	// Bad input: clear 400s, never 500.
	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/projects", map[string]any{"name": ""}, a.token), 400)
	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/projects", map[string]any{"name": "x", "environment": "staging"}, a.token), 400)
	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/projects", `{"name": "x", "bogus": 1}`, a.token), 400)
	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/projects", `{not json`, a.token), 400)

	r := e.call("POST", "/api/v1/workspaces/"+ws+"/projects", map[string]any{"name": "Shop", "environment": "prod"}, a.token)
	want(t, r, 201)
	created := r.json(t)
	p := created["project"].(map[string]any)
	id, slug, first := p["id"].(string), p["slug"].(string), created["api_key"].(string)
	if p["environment"] != "prod" || p["name"] != "Shop" || !strings.HasPrefix(first, tenant.APIKeyPrefix) || !strings.Contains(str(p, "url"), slug) {
		t.Fatalf("created = %s", r.body)
	}
	// The first key works on the project's admin API.
	want(t, e.project("GET", slug, "/admin/identities", nil, first), 200)

	want(t, e.call("GET", "/api/v1/projects/"+id, nil, a.token), 200)
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/projects", nil, a.token)
	want(t, r, 200)
	if it := r.items(t); len(it) != 1 || it[0].(map[string]any)["id"] != id {
		t.Fatalf("projects = %s", r.body)
	}

	// Keys: create (secret once), list with last use, revoke.
	r = e.call("POST", "/api/v1/projects/"+id+"/api-keys", map[string]any{"name": "ci"}, a.token)
	want(t, r, 201)
	secret := str(r.json(t), "secret")
	keyID := r.json(t)["api_key"].(map[string]any)["id"].(string)
	if !strings.HasPrefix(secret, tenant.APIKeyPrefix) {
		t.Fatalf("secret = %q", secret)
	}
	want(t, e.project("GET", slug, "/admin/identities", nil, secret), 200)
	r = e.call("GET", "/api/v1/projects/"+id+"/api-keys", nil, a.token)
	want(t, r, 200)
	if strings.Contains(string(r.body), secret) {
		t.Fatal("the key list shows a secret")
	}
	var ci map[string]any
	for _, k := range r.items(t) {
		if k.(map[string]any)["id"] == keyID {
			ci = k.(map[string]any)
		}
	}
	if ci == nil || ci["last_used_at"] == nil || ci["revoked_at"] != nil || len(r.items(t)) != 2 {
		t.Fatalf("keys = %s", r.body)
	}
	want(t, e.call("DELETE", "/api/v1/projects/"+id+"/api-keys/"+keyID, nil, a.token), 204)
	wantError(t, e.project("GET", slug, "/admin/identities", nil, secret), 401)
	wantError(t, e.call("DELETE", "/api/v1/projects/"+id+"/api-keys/"+"8b4b2b8e-3f51-4f5c-9d55-3c1c1e0d0f00", nil, a.token), 404)

	// Delete needs the slug repeated.
	wantError(t, e.call("DELETE", "/api/v1/projects/"+id, map[string]any{"confirm": "nope"}, a.token), 400)
	wantError(t, e.call("DELETE", "/api/v1/projects/"+id, nil, a.token), 400)
	want(t, e.call("DELETE", "/api/v1/projects/"+id, map[string]any{"confirm": slug}, a.token), 204)
	wantError(t, e.call("GET", "/api/v1/projects/"+id, nil, a.token), 404)
	if r := e.project("GET", slug, "/admin/identities", nil, first); r.code != 404 && r.code != 401 {
		t.Fatalf("deleted project still answers: %d", r.code)
	}

	// Every change is in the audit log, newest first, with who and from where.
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit", nil, a.token)
	want(t, r, 200)
	var actions []string
	for _, ev := range r.items(t) {
		m := ev.(map[string]any)
		if m["actor_name"] != a.email || m["actor_type"] != "account" || m["ip"] == "" {
			t.Fatalf("audit event = %v", m)
		}
		actions = append(actions, m["action"].(string))
	}
	if got, want := strings.Join(actions, ","), "project.delete,api_key.revoke,api_key.create,project.create"; got != want {
		t.Fatalf("audit actions = %s, want %s", got, want)
	}
}

func TestIdentitiesThroughThePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	pid, slug, key := e.newProject(a, ws, "users")
	base := "/api/v1/projects/" + pid + "/identities"

	r := e.call("POST", base, map[string]any{"traits": map[string]any{"email": "ann@example.com"}}, a.token)
	want(t, r, 201)
	iid := str(r.json(t), "id")
	want(t, e.call("POST", base, map[string]any{"traits": map[string]any{"email": "bob@example.com"}}, a.token), 201)
	wantError(t, e.call("POST", base, map[string]any{"traits": map[string]any{"email": "not an email"}}, a.token), 400)

	// Search by identifier.
	r = e.call("GET", base+"?credentials_identifier=ann@example.com", nil, a.token)
	want(t, r, 200)
	var list []map[string]any
	decode(t, r.body, &list)
	if len(list) != 1 || list[0]["id"] != iid {
		t.Fatalf("search = %s", r.body)
	}
	// Paging links point at the platform route.
	r = e.call("GET", base+"?page_size=1", nil, a.token)
	want(t, r, 200)
	if l := r.header.Get("Link"); !strings.Contains(l, base) || strings.Contains(l, "/admin/") {
		t.Fatalf("Link = %q", l)
	}

	want(t, e.call("GET", base+"/"+iid, nil, a.token), 200)
	r = e.call("PATCH", base+"/"+iid, []map[string]any{{"op": "replace", "path": "/traits/email", "value": "ann2@example.com"}}, a.token)
	want(t, r, 200)
	if r.json(t)["traits"].(map[string]any)["email"] != "ann2@example.com" {
		t.Fatalf("patched = %s", r.body)
	}
	// The project's own admin API sees the change.
	want(t, e.project("GET", slug, "/admin/identities/"+iid, nil, key), 200)

	want(t, e.call("GET", base+"/"+iid+"/sessions", nil, a.token), 200)
	want(t, e.call("DELETE", base+"/"+iid+"/sessions", nil, a.token), 204)
	r = e.call("POST", base+"/"+iid+"/recovery-code", map[string]any{"expires_in": "15m"}, a.token)
	want(t, r, 201)
	if !strings.Contains(str(r.json(t), "recovery_link"), slug) || str(r.json(t), "recovery_code") == "" {
		t.Fatalf("recovery = %s", r.body)
	}
	want(t, e.call("DELETE", base+"/"+iid, nil, a.token), 204)
	wantError(t, e.call("GET", base+"/"+iid, nil, a.token), 404)
	wantError(t, e.call("GET", base+"/not-a-uuid", nil, a.token), 404)

	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit?page_size=10", nil, a.token)
	got := []string{}
	for _, ev := range r.items(t) {
		got = append(got, ev.(map[string]any)["action"].(string))
	}
	if strings.Join(got, ",") != "identity.delete,identity.recovery_code,identity.sessions_revoke,identity.patch,identity.create,identity.create,project.create" {
		t.Fatalf("audit = %v", got)
	}
}

var inviteRE = regexp.MustCompile(`token=(lanyard_inv_[A-Za-z0-9_\-%]+)`)

// invite invites email into ws as role and returns the invitation secret
// read from the mail the courier stored.
func (e *env) invite(by *account, ws, email, role string) string {
	e.t.Helper()
	want(e.t, e.call("POST", "/api/v1/workspaces/"+ws+"/invitations", map[string]any{"email": email, "role": role}, by.token), 201)
	var body string
	err := e.d.DB.InTx(context.Background(), e.console, func(tx tenant.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT concat(body, ' ', template_data->>'body') FROM courier_messages
			WHERE recipient = $1 ORDER BY created_at DESC LIMIT 1`, email).Scan(&body)
	})
	if err != nil {
		e.t.Fatalf("invitation mail: %v", err)
	}
	m := inviteRE.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no link in the invitation mail: %q", body)
	}
	s, _ := url.QueryUnescape(m[1])
	return s
}

// join makes b a member of a's workspace ws with role, by invitation.
func (e *env) join(owner, b *account, ws, role string) {
	e.t.Helper()
	secret := e.invite(owner, ws, b.email, role)
	r := e.call("POST", "/api/v1/invitations/accept", map[string]any{"token": secret}, b.token)
	want(e.t, r, 200)
	if r.json(e.t)["role"] != role {
		e.t.Fatalf("joined as %s", r.body)
	}
}

func TestMembersRolesAndInvitations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.newAccount(true)
	ws := e.personal(owner)
	pid, _, _ := e.newProject(owner, ws, "shared")

	// Invitations: a wrong address, an unverified one, a used one.
	viewer := e.newAccount(true)
	secret := e.invite(owner, ws, viewer.email, "viewer")
	stranger := e.newAccount(true)
	wantError(t, e.call("POST", "/api/v1/invitations/accept", map[string]any{"token": secret}, stranger.token), 403)
	want(t, e.call("POST", "/api/v1/invitations/accept", map[string]any{"token": secret}, viewer.token), 200)
	wantError(t, e.call("POST", "/api/v1/invitations/accept", map[string]any{"token": secret}, viewer.token), 404)
	unverified := e.newAccount(false)
	s2 := e.invite(owner, ws, unverified.email, "admin")
	if er := wantError(t, e.call("POST", "/api/v1/invitations/accept", map[string]any{"token": s2}, unverified.token), 403); er["id"] != "email_not_verified" {
		t.Fatalf("unverified accept: %v", er)
	}
	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/invitations", map[string]any{"email": viewer.email}, owner.token), 409)
	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/invitations", map[string]any{"email": "nope"}, owner.token), 400)
	r := e.call("GET", "/api/v1/workspaces/"+ws+"/invitations", nil, owner.token)
	want(t, r, 200)
	if len(r.items(t)) != 2 {
		t.Fatalf("invitations = %s", r.body)
	}

	// A viewer reads everything and changes nothing.
	want(t, e.call("GET", "/api/v1/workspaces/"+ws, nil, viewer.token), 200)
	want(t, e.call("GET", "/api/v1/workspaces/"+ws+"/projects", nil, viewer.token), 200)
	want(t, e.call("GET", "/api/v1/projects/"+pid+"/api-keys", nil, viewer.token), 200)
	want(t, e.call("GET", "/api/v1/projects/"+pid+"/identities", nil, viewer.token), 200)
	want(t, e.call("GET", "/api/v1/workspaces/"+ws+"/members", nil, viewer.token), 200)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", "/api/v1/workspaces/" + ws, map[string]any{"name": "mine"}},
		{"POST", "/api/v1/workspaces/" + ws + "/projects", map[string]any{"name": "x"}},
		{"POST", "/api/v1/projects/" + pid + "/api-keys", map[string]any{"name": "x"}},
		{"DELETE", "/api/v1/projects/" + pid, map[string]any{"confirm": "x"}},
		{"POST", "/api/v1/projects/" + pid + "/identities", map[string]any{"traits": map[string]any{"email": "v@example.com"}}},
		{"POST", "/api/v1/workspaces/" + ws + "/invitations", map[string]any{"email": "v2@example.com"}},
		{"POST", "/api/v1/workspaces/" + ws + "/tokens", map[string]any{"name": "t"}},
		{"PATCH", "/api/v1/workspaces/" + ws + "/members/" + owner.id.String(), map[string]any{"role": "viewer"}},
		{"DELETE", "/api/v1/workspaces/" + ws + "/members/" + owner.id.String(), nil},
	} {
		if er := wantError(t, e.call(c.method, c.path, c.body, viewer.token), 403); er["id"] != "insufficient_role" {
			t.Errorf("%s %s: %v", c.method, c.path, er)
		}
	}

	// An admin manages projects and admins/viewers, but not owners.
	admin := e.newAccount(true)
	e.join(owner, admin, ws, "admin")
	want(t, e.call("POST", "/api/v1/projects/"+pid+"/api-keys", map[string]any{"name": "by admin"}, admin.token), 201)
	wantError(t, e.call("PATCH", "/api/v1/workspaces/"+ws+"/members/"+owner.id.String(), map[string]any{"role": "viewer"}, admin.token), 403)
	wantError(t, e.call("PATCH", "/api/v1/workspaces/"+ws+"/members/"+viewer.id.String(), map[string]any{"role": "owner"}, admin.token), 403)
	wantError(t, e.call("PATCH", "/api/v1/workspaces/"+ws+"/members/"+viewer.id.String(), map[string]any{"role": "king"}, admin.token), 400)
	want(t, e.call("PATCH", "/api/v1/workspaces/"+ws+"/members/"+viewer.id.String(), map[string]any{"role": "admin"}, admin.token), 200)
	want(t, e.call("PATCH", "/api/v1/workspaces/"+ws+"/members/"+viewer.id.String(), map[string]any{"role": "viewer"}, admin.token), 200)

	// The last owner stays.
	if er := wantError(t, e.call("PATCH", "/api/v1/workspaces/"+ws+"/members/"+owner.id.String(), map[string]any{"role": "admin"}, owner.token), 409); er["id"] != "last_owner" {
		t.Fatalf("last owner: %v", er)
	}
	wantError(t, e.call("DELETE", "/api/v1/workspaces/"+ws+"/members/"+owner.id.String(), nil, owner.token), 409)

	// A removed member loses access with the next request.
	want(t, e.call("DELETE", "/api/v1/workspaces/"+ws+"/members/"+admin.id.String(), nil, owner.token), 204)
	wantError(t, e.call("GET", "/api/v1/projects/"+pid, nil, admin.token), 404)
	wantError(t, e.call("POST", "/api/v1/projects/"+pid+"/api-keys", map[string]any{"name": "late"}, admin.token), 404)
	wantError(t, e.call("GET", "/api/v1/workspaces/"+ws, nil, admin.token), 404)
	// A member may leave.
	want(t, e.call("DELETE", "/api/v1/workspaces/"+ws+"/members/"+viewer.id.String(), nil, viewer.token), 204)
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/members", nil, owner.token)
	if it := r.items(t); len(it) != 1 {
		t.Fatalf("members = %s", r.body)
	}
}

func TestWorkspaceTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	pid, _, _ := e.newProject(a, ws, "automation")

	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/tokens", map[string]any{"name": "t", "role": "owner"}, a.token), 400)
	r := e.call("POST", "/api/v1/workspaces/"+ws+"/tokens", map[string]any{"name": "ci", "role": "admin"}, a.token)
	want(t, r, 201)
	adminTok := str(r.json(t), "secret")
	adminTokID := r.json(t)["token"].(map[string]any)["id"].(string)
	r = e.call("POST", "/api/v1/workspaces/"+ws+"/tokens", map[string]any{"name": "read"}, a.token)
	want(t, r, 201)
	viewTok := str(r.json(t), "secret")

	r = e.call("GET", "/api/v1/me", nil, adminTok)
	want(t, r, 200)
	if r.json(t)["kind"] != "token" {
		t.Fatalf("me = %s", r.body)
	}
	r = e.call("GET", "/api/v1/workspaces", nil, adminTok)
	if it := r.items(t); len(it) != 1 || it[0].(map[string]any)["id"] != ws {
		t.Fatalf("token workspaces = %s", r.body)
	}
	want(t, e.call("POST", "/api/v1/workspaces/"+ws+"/projects", map[string]any{"name": "by token"}, adminTok), 201)
	want(t, e.call("POST", "/api/v1/projects/"+pid+"/api-keys", map[string]any{"name": "by token"}, adminTok), 201)
	wantError(t, e.call("POST", "/api/v1/projects/"+pid+"/api-keys", map[string]any{"name": "x"}, viewTok), 403)
	want(t, e.call("GET", "/api/v1/projects/"+pid+"/api-keys", nil, viewTok), 200)
	// Tokens cannot mint tokens or manage members.
	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/tokens", map[string]any{"name": "x"}, adminTok), 403)
	wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/invitations", map[string]any{"email": "x@example.com"}, adminTok), 403)

	r = e.call("GET", "/api/v1/workspaces/"+ws+"/tokens", nil, a.token)
	want(t, r, 200)
	if strings.Contains(string(r.body), adminTok) || len(r.items(t)) != 2 {
		t.Fatalf("tokens = %s", r.body)
	}
	var used bool
	for _, it := range r.items(t) {
		if m := it.(map[string]any); m["id"] == adminTokID && m["last_used_at"] != nil {
			used = true
		}
	}
	if !used {
		t.Fatalf("last use not recorded: %s", r.body)
	}
	// The audit log names the token.
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit?page_size=1", nil, a.token)
	if ev := r.items(t)[0].(map[string]any); ev["actor_type"] != "token" || ev["actor_name"] != "token:ci" {
		t.Fatalf("audit = %s", r.body)
	}
	want(t, e.call("DELETE", "/api/v1/workspaces/"+ws+"/tokens/"+adminTokID, nil, a.token), 204)
	wantError(t, e.call("GET", "/api/v1/me", nil, adminTok), 401)
}

// TestIsolationBetweenWorkspaces: an account (or token) of workspace X
// reaches nothing of workspace Y by id, and gets 404 exactly as for ids
// that do not exist.
func TestIsolationBetweenWorkspaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	x, y := e.newAccount(true), e.newAccount(true)
	wsX, wsY := e.personal(x), e.personal(y)
	e.newProject(x, wsX, "x project")
	pY, _, _ := e.newProject(y, wsY, "y project")
	r := e.call("POST", "/api/v1/projects/"+pY+"/api-keys", map[string]any{"name": "y"}, y.token)
	keyY := r.json(t)["api_key"].(map[string]any)["id"].(string)
	r = e.call("POST", "/api/v1/projects/"+pY+"/identities", map[string]any{"traits": map[string]any{"email": "y@example.com"}}, y.token)
	idY := str(r.json(t), "id")
	r = e.call("POST", "/api/v1/workspaces/"+wsY+"/tokens", map[string]any{"name": "y", "role": "admin"}, y.token)
	tokY := r.json(t)["token"].(map[string]any)["id"].(string)
	r = e.call("POST", "/api/v1/workspaces/"+wsY+"/invitations", map[string]any{"email": "z@example.com"}, y.token)
	invY := str(r.json(t), "id")
	r = e.call("POST", "/api/v1/workspaces/"+wsX+"/tokens", map[string]any{"name": "x", "role": "admin"}, x.token)
	tokX := str(r.json(t), "secret")

	attempts := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/workspaces/" + wsY, nil},
		{"PATCH", "/api/v1/workspaces/" + wsY, map[string]any{"name": "taken"}},
		{"GET", "/api/v1/workspaces/" + wsY + "/members", nil},
		{"PATCH", "/api/v1/workspaces/" + wsY + "/members/" + y.id.String(), map[string]any{"role": "viewer"}},
		{"DELETE", "/api/v1/workspaces/" + wsY + "/members/" + y.id.String(), nil},
		{"GET", "/api/v1/workspaces/" + wsY + "/invitations", nil},
		{"POST", "/api/v1/workspaces/" + wsY + "/invitations", map[string]any{"email": "me@example.com", "role": "owner"}},
		{"DELETE", "/api/v1/workspaces/" + wsY + "/invitations/" + invY, nil},
		{"GET", "/api/v1/workspaces/" + wsY + "/tokens", nil},
		{"POST", "/api/v1/workspaces/" + wsY + "/tokens", map[string]any{"name": "steal"}},
		{"DELETE", "/api/v1/workspaces/" + wsY + "/tokens/" + tokY, nil},
		{"GET", "/api/v1/workspaces/" + wsY + "/projects", nil},
		{"POST", "/api/v1/workspaces/" + wsY + "/projects", map[string]any{"name": "planted"}},
		{"GET", "/api/v1/workspaces/" + wsY + "/audit", nil},
		{"GET", "/api/v1/projects/" + pY, nil},
		{"DELETE", "/api/v1/projects/" + pY, map[string]any{"confirm": "x"}},
		{"GET", "/api/v1/projects/" + pY + "/api-keys", nil},
		{"POST", "/api/v1/projects/" + pY + "/api-keys", map[string]any{"name": "steal"}},
		{"DELETE", "/api/v1/projects/" + pY + "/api-keys/" + keyY, nil},
		{"GET", "/api/v1/projects/" + pY + "/identities", nil},
		{"POST", "/api/v1/projects/" + pY + "/identities", map[string]any{"traits": map[string]any{"email": "p@example.com"}}},
		{"GET", "/api/v1/projects/" + pY + "/identities/" + idY, nil},
		{"PATCH", "/api/v1/projects/" + pY + "/identities/" + idY, []map[string]any{{"op": "replace", "path": "/state", "value": "inactive"}}},
		{"DELETE", "/api/v1/projects/" + pY + "/identities/" + idY, nil},
		{"GET", "/api/v1/projects/" + pY + "/identities/" + idY + "/sessions", nil},
		{"DELETE", "/api/v1/projects/" + pY + "/identities/" + idY + "/sessions", nil},
		{"POST", "/api/v1/projects/" + pY + "/identities/" + idY + "/recovery-code", nil},
	}
	for _, cred := range []struct{ name, bearer string }{{"account X", x.token}, {"token of X", tokX}} {
		for _, c := range attempts {
			r := e.call(c.method, c.path, c.body, cred.bearer)
			if r.code != 404 && !(cred.name == "token of X" && r.code == 403) {
				t.Errorf("%s: %s %s → %d %s, want 404", cred.name, c.method, c.path, r.code, r.body)
			}
		}
	}
	// Y's things are untouched.
	r = e.call("GET", "/api/v1/projects/"+pY+"/identities/"+idY, nil, y.token)
	want(t, r, 200)
	if r.json(t)["state"] != "active" {
		t.Fatalf("Y's identity changed: %s", r.body)
	}
	r = e.call("GET", "/api/v1/workspaces/"+wsY+"/members", nil, y.token)
	if it := r.items(t); len(it) != 1 || it[0].(map[string]any)["role"] != "owner" {
		t.Fatalf("Y's members changed: %s", r.body)
	}
	r = e.call("GET", "/api/v1/workspaces/"+wsY+"/projects", nil, y.token)
	if len(r.items(t)) != 1 {
		t.Fatalf("Y's projects changed: %s", r.body)
	}
	r = e.call("GET", "/api/v1/workspaces/"+wsY+"/audit", nil, y.token)
	for _, ev := range r.items(t) {
		if ev.(map[string]any)["actor_name"] != y.email {
			t.Fatalf("someone else acted in Y: %s", r.body)
		}
	}
	// Page tokens are bound to their list.
	r = e.call("GET", "/api/v1/workspaces/"+wsX+"/audit?page_size=1", nil, x.token)
	next := str(r.json(t), "next_page_token")
	if next == "" {
		t.Fatalf("no next page: %s", r.body)
	}
	wantError(t, e.call("GET", "/api/v1/workspaces/"+wsY+"/audit?page_token="+url.QueryEscape(next), nil, y.token), 400)
	wantError(t, e.call("GET", "/api/v1/workspaces/"+wsX+"/members?page_token="+url.QueryEscape(next), nil, x.token), 400)
	wantError(t, e.call("GET", "/api/v1/workspaces/"+wsX+"/audit?page_size=1000", nil, x.token), 400)
}

func TestPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	want := map[string]bool{}
	for i := range 5 {
		id, _, _ := e.newProject(a, ws, "p"+string(rune('a'+i)))
		want[id] = true
	}
	seen := map[string]bool{}
	path := "/api/v1/workspaces/" + ws + "/projects?page_size=2"
	pages := 0
	for {
		r := e.call("GET", path, nil, a.token)
		if r.code != 200 {
			t.Fatalf("page: %d %s", r.code, r.body)
		}
		pages++
		for _, it := range r.items(t) {
			id := it.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("project %s on two pages", id)
			}
			seen[id] = true
		}
		next := str(r.json(t), "next_page_token")
		if next == "" {
			break
		}
		path = "/api/v1/workspaces/" + ws + "/projects?page_size=2&page_token=" + url.QueryEscape(next)
	}
	if pages != 3 || len(seen) != len(want) {
		t.Fatalf("pages = %d, seen %d of %d", pages, len(seen), len(want))
	}
}

// TestEveryRouteIsDocumented checks that every route of the dashboard
// router is in the OpenAPI document (the platform API under /api/v1).
func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := 0
	for _, r := range e.router.Routes() {
		switch r.Path {
		case "/", "/metrics":
			continue // the app and process metrics: not API
		}
		n++
		if !openapitest.HasOperation(t, r.Method, r.Path) {
			t.Errorf("%s %s is served but not in the OpenAPI document", r.Method, r.Path)
		}
	}
	if n < 30 {
		t.Fatalf("only %d dashboard routes found; is the platform API mounted?", n)
	}
}

func TestConsoleProjectIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p2, err := dashboardEnsure(e)
	if err != nil {
		t.Fatal(err)
	}
	if p2.ID != e.console.ID {
		t.Fatalf("a second console project: %s vs %s", p2.ID, e.console.ID)
	}
	keys, err := e.d.Registry.ListAPIKeys(context.Background(), e.console.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.RevokedAt == nil {
			t.Fatalf("the console project has a live API key %s", k.ID)
		}
	}
	var allowed []string
	_ = e.d.DB.InTx(context.Background(), e.console, func(tx tenant.Tx) error {
		var raw []byte
		if err := tx.QueryRow(context.Background(), `SELECT value FROM project_settings WHERE key = 'flows'`).Scan(&raw); err != nil {
			return err
		}
		var c struct {
			Allowed []string `json:"allowed_return_urls"`
		}
		decode(t, raw, &c)
		allowed = c.Allowed
		return nil
	})
	if len(allowed) != 1 || allowed[0] != e.d.Config.DashboardBaseURL() {
		t.Fatalf("allowed_return_urls = %v", allowed)
	}
}

var _ = gin.H{}

// TestBrowserSignUpOnTheDashboardOrigin signs up with the console
// project's browser flow served on the dashboard's own origin, and uses
// the session cookie it sets on the platform API.
func TestBrowserSignUpOnTheDashboardOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	jar := map[string]*http.Cookie{}
	keep := func(r resp) {
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			jar[ck.Name] = ck
		}
	}
	withJar := func(req *http.Request) {
		req.Header.Set("Accept", "application/json")
		for _, ck := range jar {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
	}
	r := e.callWith("GET", "/self-service/registration/browser?return_to="+url.QueryEscape(e.d.Config.DashboardBaseURL()+"/projects"), nil, withJar)
	want(t, r, 200)
	keep(r)
	flow := r.json(t)
	ui := flow["ui"].(map[string]any)
	action := ui["action"].(string)
	if !strings.HasPrefix(action, e.d.Config.DashboardBaseURL()+"/self-service/registration?flow=") {
		t.Fatalf("action = %s", action)
	}
	csrf := ""
	for _, n := range ui["nodes"].([]any) {
		at := n.(map[string]any)["attributes"].(map[string]any)
		if at["name"] == "csrf_token" {
			csrf, _ = at["value"].(string)
		}
	}
	u, _ := url.Parse(action)
	r = e.callWith("POST", u.RequestURI(), map[string]any{"method": "password", "csrf_token": csrf,
		"traits": map[string]any{"email": "browser-" + uuid.NewString() + "@example.com"}, "password": "correct horse battery staple"}, withJar)
	want(t, r, 200)
	keep(r)
	cfg, err := e.d.Sessions.Config(context.Background(), e.console)
	if err != nil {
		t.Fatal(err)
	}
	ck := jar[cfg.CookieName]
	if ck == nil || ck.Path != "/" {
		t.Fatalf("no first-party session cookie: %v", r.header["Set-Cookie"])
	}
	r = e.callWith("GET", "/api/v1/workspaces", nil, withJar)
	want(t, r, 200)
	if len(r.items(t)) != 1 {
		t.Fatalf("workspaces = %s", r.body)
	}
	r = e.callWith("GET", "/sessions/whoami", nil, withJar)
	want(t, r, 200)
}

func TestRenameAndInvitationLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	wantError(t, e.call("PATCH", "/api/v1/workspaces/"+ws, map[string]any{"name": "  "}, a.token), 400)
	wantError(t, e.call("PATCH", "/api/v1/workspaces/"+ws, map[string]any{"name": strings.Repeat("x", 65)}, a.token), 400)
	r := e.call("PATCH", "/api/v1/workspaces/"+ws, map[string]any{"name": "Acme"}, a.token)
	want(t, r, 200)
	if r.json(t)["name"] != "Acme" || r.json(t)["role"] != "owner" {
		t.Fatalf("renamed = %s", r.body)
	}
	wantError(t, e.call("GET", "/api/v1/workspaces/not-a-uuid", nil, a.token), 404)
	wantError(t, e.call("GET", "/api/v1/workspaces/"+uuid.NewString(), nil, a.token), 404)

	// An expired invitation is 410; a revoked one 404.
	b := e.newAccount(true)
	secret := e.invite(a, ws, b.email, "viewer")
	if _, err := e.d.DB.Platform().Exec(context.Background(), `UPDATE platform.workspace_invitations SET expires_at = now() - interval '1 minute' WHERE email = $1`, b.email); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.call("POST", "/api/v1/invitations/accept", map[string]any{"token": secret}, b.token), 410)
	c := e.newAccount(true)
	want(t, e.call("POST", "/api/v1/workspaces/"+ws+"/invitations", map[string]any{"email": c.email, "role": "admin"}, a.token), 201)
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/invitations", nil, a.token)
	var invID string
	for _, it := range r.items(t) {
		if m := it.(map[string]any); m["email"] == c.email {
			invID = m["id"].(string)
		}
	}
	want(t, e.call("DELETE", "/api/v1/workspaces/"+ws+"/invitations/"+invID, nil, a.token), 204)
	wantError(t, e.call("DELETE", "/api/v1/workspaces/"+ws+"/invitations/"+invID, nil, a.token), 404)
	wantError(t, e.call("POST", "/api/v1/invitations/accept", map[string]any{"token": "lanyard_inv_nothing"}, c.token), 404)
	wantError(t, e.call("POST", "/api/v1/invitations/accept", map[string]any{}, c.token), 404)

	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit", nil, a.token)
	got := []string{}
	for _, ev := range r.items(t) {
		got = append(got, ev.(map[string]any)["action"].(string))
	}
	if strings.Join(got, ",") != "invitation.revoke,member.invite,member.invite,workspace.rename" {
		t.Fatalf("audit = %v", got)
	}
}

// TestCookieNeedsTheDashboardOrigin: a change made with the session
// cookie from another origin (a sibling host of the same site) is refused.
func TestCookieNeedsTheDashboardOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	cfg, err := e.d.Sessions.Config(context.Background(), e.console)
	if err != nil {
		t.Fatal(err)
	}
	with := func(origin string) func(*http.Request) {
		return func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: cfg.CookieName, Value: a.token})
			if origin != "" {
				r.Header.Set("Origin", origin)
			}
		}
	}
	path := "/api/v1/workspaces/" + ws + "/projects"
	if er := wantError(t, e.callWith("POST", path, map[string]any{"name": "x"}, with("http://evil.localhost:4433")), 403); er["id"] != "security_csrf_violation" {
		t.Fatalf("cross-origin: %v", er)
	}
	want(t, e.callWith("GET", path, nil, with("http://evil.localhost:4433")), 200)
	want(t, e.callWith("POST", path, map[string]any{"name": "x"}, with(e.d.Config.DashboardBaseURL())), 201)
	// A bearer token is not a browser credential: no origin check.
	want(t, e.callWith("POST", path, map[string]any{"name": "y"}, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+a.token)
		r.Header.Set("Origin", "http://elsewhere.example")
	}), 201)
}

package identity_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/tenant"
)

func TestAdminIdentityRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := uniqueEmail(t, "ada")

	// create, with a clear-text password and upper-case email
	body := person(strings.ToUpper(email))
	body["credentials"] = map[string]any{"password": map[string]any{"config": map[string]any{"password": "correct horse battery"}}}
	body["metadata_admin"] = map[string]any{"plan": "gold"}
	rec := e.call("POST", "/admin/identities", body)
	wantStatus(t, rec, http.StatusCreated)
	created := decode[identityJSON](t, rec)
	if loc, want := rec.Header().Get("Location"), "http://127.0.0.1:4433/p/"+e.proj.Project.Slug+"/admin/identities/"+created.ID; loc != want {
		t.Fatalf("Location = %q, want %q", loc, want)
	}
	if want := "http://127.0.0.1:4433/p/" + e.proj.Project.Slug + "/schemas/" + base64.RawURLEncoding.EncodeToString([]byte("default")); created.SchemaURL != want {
		t.Fatalf("schema_url = %q, want %q", created.SchemaURL, want)
	}
	if string(created.MetadataPublic) != "null" {
		t.Fatalf("metadata_public = %s, want null", created.MetadataPublic)
	}
	pw := created.Credentials["password"]
	if len(pw.Identifiers) != 1 || pw.Identifiers[0] != email || pw.Config != nil {
		t.Fatalf("password credential = %+v, want identifier %s and no config", pw, email)
	}
	if len(created.Verifiable) != 1 || created.Verifiable[0].Value != email || created.Verifiable[0].Status != "pending" ||
		len(created.Recovery) != 1 || created.Recovery[0].Value != email {
		t.Fatalf("addresses = %+v / %+v", created.Verifiable, created.Recovery)
	}

	// get, with and without the password config
	rec = e.call("GET", "/admin/identities/"+created.ID, nil)
	wantStatus(t, rec, http.StatusOK)
	if got := decode[identityJSON](t, rec); got.Credentials["password"].Config != nil || string(got.MetadataAdmin) != `{"plan":"gold"}` {
		t.Fatalf("get = %s", rec.Body.String())
	}
	rec = e.call("GET", "/admin/identities/"+created.ID+"?include_credential=password", nil)
	wantStatus(t, rec, http.StatusOK)
	hashed, _ := decode[identityJSON](t, rec).Credentials["password"].Config["hashed_password"].(string)
	if !strings.HasPrefix(hashed, "$argon2id$") {
		t.Fatalf("hashed_password = %q, want an argon2id hash", hashed)
	}
	if ok, _, err := e.deps.Identities.Hasher.Verify("correct horse battery", hashed); !ok || err != nil {
		t.Fatalf("stored hash does not verify: %v", err)
	}

	// list filters: credentials_identifier (case-folded) and ids
	rec = e.call("GET", "/admin/identities?credentials_identifier="+url.QueryEscape(strings.ToUpper(email)), nil)
	wantStatus(t, rec, http.StatusOK)
	if list := decode[[]identityJSON](t, rec); len(list) != 1 || list[0].ID != created.ID {
		t.Fatalf("list by identifier = %s", rec.Body.String())
	}
	rec = e.call("GET", "/admin/identities?ids="+created.ID+"&ids="+uuid.NewString(), nil)
	wantStatus(t, rec, http.StatusOK)
	if list := decode[[]identityJSON](t, rec); len(list) != 1 {
		t.Fatalf("list by ids = %s", rec.Body.String())
	}

	// PUT: deactivate; state_changed_at appears, metadata_admin is replaced
	rec = e.call("PUT", "/admin/identities/"+created.ID, map[string]any{
		"schema_id": "default", "state": "inactive", "traits": map[string]any{"email": email},
		"metadata_public": map[string]any{"tier": 1}})
	wantStatus(t, rec, http.StatusOK)
	put := decode[identityJSON](t, rec)
	if put.State != "inactive" || put.StateChangedAt == nil || put.MetadataAdmin != nil || string(put.MetadataPublic) != `{"tier":1}` {
		t.Fatalf("put = %s", rec.Body.String())
	}
	if _, ok := put.Credentials["password"]; !ok {
		t.Fatal("PUT dropped the password credential")
	}

	// JSON Patch: reactivate, change the email, mark the address verified
	newEmail := uniqueEmail(t, "lovelace")
	rec = e.call("PATCH", "/admin/identities/"+created.ID, []map[string]any{
		{"op": "replace", "path": "/state", "value": "active"},
		{"op": "replace", "path": "/traits/email", "value": newEmail},
		{"op": "add", "path": "/metadata_admin", "value": map[string]any{"note": "patched"}},
	})
	wantStatus(t, rec, http.StatusOK)
	patched := decode[identityJSON](t, rec)
	if patched.State != "active" || patched.Traits["email"] != newEmail || patched.Credentials["password"].Identifiers[0] != newEmail ||
		patched.Verifiable[0].Value != newEmail {
		t.Fatalf("patched = %s", rec.Body.String())
	}
	rec = e.call("PATCH", "/admin/identities/"+created.ID, []map[string]any{
		{"op": "replace", "path": "/verifiable_addresses/0/verified", "value": true},
		{"op": "replace", "path": "/verifiable_addresses/0/status", "value": "completed"},
	})
	wantStatus(t, rec, http.StatusOK)
	if v := decode[identityJSON](t, rec).Verifiable[0]; !v.Verified || v.Status != "completed" || v.ID != patched.Verifiable[0].ID {
		t.Fatalf("verified address = %+v", v)
	}

	// credentials: first factors cannot go; missing types are 404
	rec = e.call("DELETE", "/admin/identities/"+created.ID+"/credentials/password", nil)
	wantStatus(t, rec, http.StatusBadRequest)
	rec = e.call("DELETE", "/admin/identities/"+created.ID+"/credentials/totp", nil)
	wantStatus(t, rec, http.StatusNotFound)

	// public schema endpoints
	for _, p := range []string{"/schemas", "/admin/schemas"} {
		rec = e.call("GET", p, nil)
		wantStatus(t, rec, http.StatusOK)
		if !strings.Contains(rec.Body.String(), `"id":"default"`) {
			t.Fatalf("%s = %s", p, rec.Body.String())
		}
	}
	for _, p := range []string{"/schemas/default", "/schemas/" + base64.RawURLEncoding.EncodeToString([]byte("default")), "/admin/schemas/default"} {
		rec = e.call("GET", p, nil)
		wantStatus(t, rec, http.StatusOK)
		if !strings.Contains(rec.Body.String(), `"ory.sh/kratos"`) {
			t.Fatalf("%s = %s", p, rec.Body.String())
		}
	}
	wantStatus(t, e.call("GET", "/schemas/nope", nil), http.StatusNotFound)
	wantStatus(t, e.call("GET", "/.well-known/openapi.json", nil), http.StatusOK)

	// delete: 204, then 404, and an audit event
	wantStatus(t, e.call("DELETE", "/admin/identities/"+created.ID, nil), http.StatusNoContent)
	wantStatus(t, e.call("GET", "/admin/identities/"+created.ID, nil), http.StatusNotFound)
	var events int
	err := e.deps.DB.InTx(context.Background(), e.proj.Project, func(tx tenant.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'identity.delete' AND target = $1 AND actor LIKE 'api_key:%'`, created.ID).Scan(&events)
	})
	if err != nil || events != 1 {
		t.Fatalf("audit events = %d, %v; want 1", events, err)
	}
}

func TestBatchPatchIdentities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dup := uniqueEmail(t, "dup")
	pid := uuid.NewString()
	rec := e.call("PATCH", "/admin/identities", map[string]any{"identities": []map[string]any{
		{"create": person(uniqueEmail(t, "one")), "patch_id": pid},
		{"create": person(dup)},
		{"create": person(dup)},
		{"create": map[string]any{"schema_id": "default", "traits": map[string]any{"email": "not-an-email"}}},
		{"create": map[string]any{"schema_id": "missing", "traits": map[string]any{"email": uniqueEmail(t, "x")}}},
	}})
	wantStatus(t, rec, http.StatusOK)
	res := decode[struct {
		Identities []struct {
			Action   string `json:"action"`
			Identity string `json:"identity"`
			PatchID  string `json:"patch_id"`
			Error    *struct {
				Code   int    `json:"code"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"identities"`
	}](t, rec).Identities
	want := []struct {
		action string
		code   int
	}{{"create", 0}, {"create", 0}, {"error", 409}, {"error", 400}, {"error", 400}}
	for k, w := range want {
		got := res[k]
		if got.Action != w.action || (w.code != 0) != (got.Error != nil) || (got.Error != nil && got.Error.Code != w.code) {
			t.Fatalf("item %d = %+v, want %s %d; body %s", k, got, w.action, w.code, rec.Body.String())
		}
	}
	if res[0].PatchID != pid {
		t.Fatalf("patch_id = %q, want %q", res[0].PatchID, pid)
	}
	// the good ones exist, and a batch delete removes one
	wantStatus(t, e.call("GET", "/admin/identities/"+res[1].Identity, nil), http.StatusOK)
	rec = e.call("PATCH", "/admin/identities", map[string]any{"identities": []map[string]any{{"delete": res[1].Identity}, {"delete": uuid.NewString()}}})
	wantStatus(t, rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), `"action":"delete"`) || !strings.Contains(rec.Body.String(), `"code":404`) {
		t.Fatalf("batch delete = %s", rec.Body.String())
	}
	wantStatus(t, e.call("GET", "/admin/identities/"+res[1].Identity, nil), http.StatusNotFound)

	items := make([]map[string]any, 1001)
	for k := range items {
		items[k] = map[string]any{"create": person(fmt.Sprintf("n%d@example.com", k))}
	}
	rec = e.call("PATCH", "/admin/identities", map[string]any{"identities": items})
	wantStatus(t, rec, http.StatusBadRequest)
	golden(t, "batch_too_large", rec)
}

var nextRE = regexp.MustCompile(`<([^>]+)>; rel="next"`)

func TestPaginationAndIsolation(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	b := a.other()
	ids := map[string]bool{}
	for k := 0; k < 5; k++ {
		rec := a.call("POST", "/admin/identities", person(uniqueEmail(t, fmt.Sprint(k))))
		wantStatus(t, rec, http.StatusCreated)
		ids[decode[identityJSON](t, rec).ID] = true
	}
	bRec := b.call("POST", "/admin/identities", person(uniqueEmail(t, "b")))
	wantStatus(t, bRec, http.StatusCreated)
	bID := decode[identityJSON](t, bRec).ID

	// walk A's pages of 2 through the Link header
	seen := map[string]bool{}
	path := "/admin/identities?page_size=2"
	var firstToken string
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		rec := a.call("GET", path, nil)
		wantStatus(t, rec, http.StatusOK)
		for _, i := range decode[[]identityJSON](t, rec) {
			if seen[i.ID] {
				t.Fatalf("identity %s on two pages", i.ID)
			}
			seen[i.ID] = true
		}
		link := rec.Header().Get("Link")
		if !strings.Contains(link, `rel="first"`) {
			t.Fatalf("Link = %q, want rel=first", link)
		}
		path = ""
		if m := nextRE.FindStringSubmatch(link); m != nil {
			u, err := url.Parse(m[1])
			if err != nil {
				t.Fatal(err)
			}
			path = "/admin/identities?" + u.RawQuery
			if firstToken == "" {
				firstToken = u.Query().Get("page_token")
			}
		}
	}
	if len(seen) != 5 || seen[bID] {
		t.Fatalf("pages held %d identities (B's included: %v), want A's 5", len(seen), seen[bID])
	}
	for id := range ids {
		if !seen[id] {
			t.Fatalf("identity %s missing from the pages", id)
		}
	}

	// A's page token is useless on B, and a tampered one is refused
	rec := b.call("GET", "/admin/identities?page_size=2&page_token="+url.QueryEscape(firstToken), nil)
	wantStatus(t, rec, http.StatusBadRequest)
	golden(t, "page_token_other_project", rec)
	wantStatus(t, a.call("GET", "/admin/identities?page_token="+url.QueryEscape(firstToken[:len(firstToken)-2]+"AA"), nil), http.StatusBadRequest)

	// B's key cannot reach A's identities, by A's URL or by B's
	var aID string
	for id := range ids {
		aID = id
		break
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/admin/identities/" + aID}, {"GET", "/admin/identities"}, {"DELETE", "/admin/identities/" + aID},
		{"PATCH", "/admin/identities/" + aID}, {"PUT", "/admin/identities/" + aID},
	} {
		rec := a.callAs(b.proj.APIKey, a.proj.Project.Slug, c.method, c.path, "[]")
		wantStatus(t, rec, http.StatusUnauthorized)
	}
	wantStatus(t, b.call("GET", "/admin/identities/"+aID, nil), http.StatusNotFound)
	wantStatus(t, b.call("PATCH", "/admin/identities/"+aID, `[{"op":"replace","path":"/state","value":"inactive"}]`), http.StatusNotFound)
	wantStatus(t, b.call("DELETE", "/admin/identities/"+aID, nil), http.StatusNotFound)
	wantStatus(t, b.call("PUT", "/admin/identities/"+aID, person("x@example.com")), http.StatusBadRequest) // no state: refused before lookup
	rec = b.call("GET", "/admin/identities?ids="+aID, nil)
	wantStatus(t, rec, http.StatusOK)
	if rec.Body.String() != "[]" {
		t.Fatalf("B listed A's identity: %s", rec.Body.String())
	}
	wantStatus(t, a.call("GET", "/admin/identities/"+aID, nil), http.StatusOK)
}

func TestDeactivateAndDeleteEndSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rec := e.call("POST", "/admin/identities", person(uniqueEmail(t, "s")))
	wantStatus(t, rec, http.StatusCreated)
	id := uuid.MustParse(decode[identityJSON](t, rec).ID)
	issue := func() string {
		var tok string
		err := e.deps.DB.InTx(ctx, e.proj.Project, func(tx tenant.Tx) error {
			is, err := e.deps.Sessions.Issue(ctx, tx, session.IssueParams{IdentityID: id, Methods: []session.AuthenticationMethod{{Method: "password", AAL: "aal1"}}})
			if is != nil {
				tok = is.Token
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	active := func() int {
		var n int
		err := e.deps.DB.InTx(ctx, e.proj.Project, func(tx tenant.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE identity_id = $1 AND active`, id).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	issue()
	issue()
	if n := active(); n != 2 {
		t.Fatalf("active sessions = %d, want 2", n)
	}
	wantStatus(t, e.call("PATCH", "/admin/identities/"+id.String(), `[{"op":"replace","path":"/state","value":"inactive"}]`), http.StatusOK)
	if n := active(); n != 0 {
		t.Fatalf("active sessions after deactivation = %d, want 0", n)
	}
	issue()
	wantStatus(t, e.call("DELETE", "/admin/identities/"+id.String(), nil), http.StatusNoContent)
	if n := active(); n != 0 {
		t.Fatalf("sessions after delete = %d, want 0", n)
	}
}

// TestEveryRouteIsDocumented checks that every route a project serves
// (each is registered twice: on the project host and under /p/{slug}; the
// /p/{slug} copies are exactly the project routes) is in the OpenAPI
// document, with no exceptions.
func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := 0
	for _, r := range e.router.Routes() {
		p, ok := strings.CutPrefix(r.Path, "/p/:slug")
		if !ok {
			continue
		}
		n++
		if p == "" || p == "/" || !openapitest.HasOperation(t, r.Method, p) {
			t.Errorf("%s %s is served but not in the OpenAPI document", r.Method, p)
		}
	}
	if n < 50 {
		t.Fatalf("only %d project routes found; is the router wired?", n)
	}
}

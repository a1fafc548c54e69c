package identity_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
)

func TestBadInputGetsClearErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.call("POST", "/admin/identities", person(uniqueEmail(t, "taken")))
	wantStatus(t, rec, http.StatusCreated)
	existing := decode[identityJSON](t, rec)

	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"traits_required_missing", "POST", "/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"name": map[string]any{"first": "x"}}}, 400},
		{"traits_bad_format", "POST", "/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"email": "nope", "extra": 1}}, 400},
		{"traits_too_long", "POST", "/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"email": "a@b.co", "name": map[string]any{"first": strings.Repeat("x", 300)}}}, 400},
		{"unknown_field", "POST", "/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"email": "a@b.co"}, "nickname": "x"}, 400},
		{"unknown_schema", "POST", "/admin/identities", map[string]any{"schema_id": "nope", "traits": map[string]any{"email": "a@b.co"}}, 400},
		{"bad_state", "POST", "/admin/identities", map[string]any{"traits": map[string]any{"email": "a@b.co"}, "state": "gone"}, 400},
		{"duplicate_identifier", "POST", "/admin/identities", person(strings.ToUpper(uniqueEmail(t, "taken"))), 409},
		{"unknown_hash_format", "POST", "/admin/identities", map[string]any{"traits": map[string]any{"email": "h@b.co"},
			"credentials": map[string]any{"password": map[string]any{"config": map[string]any{"hashed_password": "$nope$abc"}}}}, 400},
		{"not_json", "POST", "/admin/identities", "{", 400},
		{"not_found", "GET", "/admin/identities/" + uuid.Nil.String(), nil, 404},
		{"not_a_uuid", "GET", "/admin/identities/abc", nil, 404},
		{"patch_protected_id", "PATCH", "/admin/identities/" + existing.ID, `[{"op":"replace","path":"/id","value":"` + uuid.NewString() + `"}]`, 400},
		{"patch_protected_credentials", "PATCH", "/admin/identities/" + existing.ID, `[{"op":"remove","path":"/credentials/password"}]`, 400},
		{"patch_invalid_traits", "PATCH", "/admin/identities/" + existing.ID, `[{"op":"replace","path":"/traits/email","value":"broken"}]`, 400},
		{"patch_not_a_patch", "PATCH", "/admin/identities/" + existing.ID, `{"op":"replace"}`, 400},
		{"patch_bad_path", "PATCH", "/admin/identities/" + existing.ID, `[{"op":"remove","path":"/traits/nothing/here"}]`, 400},
		{"put_without_state", "PUT", "/admin/identities/" + existing.ID, map[string]any{"schema_id": "default", "traits": map[string]any{"email": "a@b.co"}}, 400},
		{"two_filters", "GET", "/admin/identities?ids=" + existing.ID + "&credentials_identifier=x", nil, 400},
		{"bad_ids", "GET", "/admin/identities?ids=nope", nil, 400},
		{"bad_page_size", "GET", "/admin/identities?page_size=-1", nil, 400},
		{"delete_password_credential", "DELETE", "/admin/identities/" + existing.ID + "/credentials/password", nil, 400},
		{"delete_unknown_credential_type", "DELETE", "/admin/identities/" + existing.ID + "/credentials/magic", nil, 400},
		{"delete_oidc_without_identifier", "DELETE", "/admin/identities/" + existing.ID + "/credentials/oidc", nil, 400},
		{"delete_missing", "DELETE", "/admin/identities/" + uuid.Nil.String(), nil, 404},
	}
	for _, c := range cases {
		rec := e.call(c.method, c.path, c.body)
		if rec.Code != c.status {
			t.Errorf("%s: status = %d, want %d; body %s", c.name, rec.Code, c.status, rec.Body.String())
			continue
		}
		golden(t, c.name, rec)
	}

	// refused patches leave the identity as it was
	rec = e.call("GET", "/admin/identities/"+existing.ID, nil)
	wantStatus(t, rec, http.StatusOK)
	if got := decode[identityJSON](t, rec); got.Traits["email"] != existing.Traits["email"] || got.Credentials["password"].Identifiers[0] != existing.Credentials["password"].Identifiers[0] {
		t.Fatalf("identity changed by refused patches: %s", rec.Body.String())
	}
}

func TestSaveSchemaRefusesInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	m, p := e.deps.Identities, e.proj.Project
	cases := map[string]string{
		"not json":               `{`,
		"not a schema":           `{"type": 12}`,
		"no traits":              `{"type":"object","properties":{"x":{"type":"string"}}}`,
		"traits without props":   `{"type":"object","properties":{"traits":{"type":"object"}}}`,
		"draft 4":                `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"traits":{"type":"object","properties":{"a":{"type":"string"}}}}}`,
		"extension typo":         `{"type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string","format":"email","ory.sh/kratos":{"credentials":{"pasword":{"identifier":true}}}}}}}}`,
		"extension bad via":      `{"type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string","format":"email","ory.sh/kratos":{"verification":{"via":"pigeon"}}}}}}}`,
		"verification no format": `{"type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string","ory.sh/kratos":{"verification":{"via":"email"}}}}}}}`,
		"external ref":           `{"type":"object","properties":{"traits":{"$ref":"https://example.com/x.json"}}}`,
	}
	for name, raw := range cases {
		err := m.SaveSchema(ctx, p, "bad", []byte(raw), false)
		if !errx.Has(err, errx.Invalid) {
			t.Errorf("%s: SaveSchema = %v, want errx.Invalid", name, err)
		}
	}
	if err := m.SaveSchema(ctx, p, "bad id!", []byte(`{}`), false); !errx.Has(err, errx.Invalid) {
		t.Errorf("bad id: SaveSchema = %v", err)
	}

	// a valid 2020-12 schema with a phone number, verified by sms
	phone := `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"traits":{"type":"object",
	  "properties":{"phone":{"type":"string","format":"tel","ory.sh/kratos":{"credentials":{"password":{"identifier":true},"code":{"identifier":true,"via":"sms"}},
	  "verification":{"via":"sms"}}},"age":{"type":"integer","minimum":18}},"required":["phone"]}}}`
	if err := m.SaveSchema(ctx, p, "phone-v1", []byte(phone), false); err != nil {
		t.Fatalf("SaveSchema(valid) = %v", err)
	}
	rec := e.call("POST", "/admin/identities", map[string]any{"schema_id": "phone-v1", "traits": map[string]any{"phone": "+4915112345678", "age": 30}})
	wantStatus(t, rec, http.StatusCreated)
	got := decode[identityJSON](t, rec)
	if got.Verifiable[0].Via != "sms" || got.Credentials["code"].Identifiers[0] != "+4915112345678" {
		t.Fatalf("phone identity = %s", rec.Body.String())
	}
	rec = e.call("POST", "/admin/identities", map[string]any{"schema_id": "phone-v1", "traits": map[string]any{"phone": "call me", "age": 12}})
	wantStatus(t, rec, http.StatusBadRequest)
	golden(t, "traits_phone_and_minimum", rec)
	rec = e.call("GET", "/schemas", nil)
	if !strings.Contains(rec.Body.String(), `"id":"phone-v1"`) {
		t.Fatalf("GET /schemas = %s", rec.Body.String())
	}
}

// The process keeps a copy of a project's schemas; a schema saved by this
// process is seen at once, by the list and by identity writes.
func TestSavedSchemaSeenAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	m, p := e.deps.Identities, e.proj.Project
	before, err := m.Schemas(ctx, p) // fills the copy
	if err != nil {
		t.Fatal(err)
	}
	strict := `{"type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string","format":"email",
	  "ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}},"age":{"type":"integer","minimum":18}},"required":["email","age"]}}}`
	if err := m.SaveSchema(ctx, p, "default", []byte(strict), true); err != nil {
		t.Fatal(err)
	}
	after, err := m.Schemas(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || string(after[0].Schema) == string(before[0].Schema) {
		t.Fatalf("the list still shows the old default schema: %s", after[0].Schema)
	}
	// The new schema requires "age": a write without it is refused.
	rec := e.call("POST", "/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"email": "a@example.com"}})
	wantStatus(t, rec, http.StatusBadRequest)
	rec = e.call("POST", "/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"email": "a@example.com", "age": 30}})
	wantStatus(t, rec, http.StatusCreated)
}

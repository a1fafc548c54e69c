package openapi_test

import (
	"encoding/json"
	"testing"

	"github.com/lanyard-id/lanyard/internal/openapi"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
)

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	d := openapitest.Document(t)
	if d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", d.OpenAPI)
	}
	var v map[string]any
	if err := json.Unmarshal(openapi.JSON(), &v); err != nil {
		t.Fatalf("JSON() is not JSON: %v", err)
	}
	for _, op := range [][2]string{{"GET", "/admin/identities"}, {"POST", "/admin/identities"}, {"GET", "/health/alive"}, {"GET", "/schemas/:id"},
		{"GET", "/sessions/whoami"}, {"POST", "/self-service/login"}, {"GET", "/self-service/registration/api"}, {"DELETE", "/self-service/logout/api"},
		{"GET", "/admin/sessions/:id"}, {"PATCH", "/admin/sessions/:id/extend"}, {"GET", "/admin/courier/messages/:id"}} {
		if !openapitest.HasOperation(t, op[0], op[1]) {
			t.Errorf("%s %s missing from the document", op[0], op[1])
		}
	}
}

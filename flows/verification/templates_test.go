package verification_test

import (
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
)

// A verification mail sent after a template override is saved uses it.
// (It runs here, where a courier worker delivers mail, and not next to the
// courier admin tests, which read messages while they are still queued.)
func TestTemplateOverrideIsMailed(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	auth := map[string]string{"Authorization": "Bearer " + s.Project.APIKey}
	r := s.Call(codetest.Client(), "PUT", "/admin/courier/templates/verification_code_valid/default", map[string]string{
		"subject":   "Custom verification for {{.To}}",
		"body_text": "Welcome aboard.\n\n{{.VerificationCode}}\n\n(custom template)\n",
	}, auth)
	codetest.Want(t, r, 200)

	c := codetest.Client()
	addr := codetest.Address(t)
	s.Register(c, addr, "a correct horse battery staple 77")
	m := codetest.WaitMail(t, addr, 1)
	if m.Subject != "Custom verification for "+addr || !strings.Contains(m.Text, "(custom template)") {
		t.Fatalf("mail = %q %q, want the override", m.Subject, m.Text)
	}
	_ = codetest.CodeOf(t, m)
}

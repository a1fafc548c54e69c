package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/scrypt"

	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/tenant"
)

// realHashes returns hashes of pw made by the libraries themselves.
func realHashes(t testing.TB, pw string) map[string]string {
	t.Helper()
	s := make([]byte, 16)
	_, _ = rand.Read(s)
	raw := base64.RawStdEncoding.EncodeToString
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), 5)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := scrypt.Key([]byte(pw), s, 1<<12, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"bcrypt":   string(bc),
		"argon2id": fmt.Sprintf("$argon2id$v=19$m=4096,t=3,p=1$%s$%s", raw(s), raw(argon2.IDKey([]byte(pw), s, 3, 4096, 1, 32))),
		"pbkdf2":   fmt.Sprintf("$pbkdf2-sha256$i=10000,l=32$%s$%s", raw(s), raw(pbkdf2.Key([]byte(pw), s, 10000, 32, sha256.New))),
		"scrypt":   fmt.Sprintf("$scrypt$ln=4096,r=8,p=1$%s$%s", base64.StdEncoding.EncodeToString(s), base64.StdEncoding.EncodeToString(sk)),
	}
}

func TestImportRealHashesThenLoginUpgrades(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	m, p := e.deps.Identities, e.proj.Project
	const pw = "Tr0ub4dor&3 horse"
	var in bytes.Buffer
	emails := map[string]string{}
	for name, h := range realHashes(t, pw) {
		email := uniqueEmail(t, name)
		emails[name] = email
		fmt.Fprintf(&in, `{"schema_id":"default","traits":{"email":%q},"credentials":{"password":{"config":{"hashed_password":%q}}}}`+"\n", email, h)
	}
	in.WriteString("\n{not json}\n")
	in.WriteString(`{"traits":{"email":"weird@example.com"},"credentials":{"password":{"config":{"hashed_password":"$crc32$abc"}}}}` + "\n")
	fmt.Fprintf(&in, `{"traits":{"email":%q}}`+"\n", emails["bcrypt"]) // duplicate of line 1..4
	res, err := m.Import(ctx, p, &in, identity.ImportOptions{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 4 || len(res.Failed) != 3 {
		t.Fatalf("import = %d imported, failures %+v; want 4 and 3", res.Imported, res.Failed)
	}
	wantLines := []int{6, 7, 8}
	for k, f := range res.Failed {
		if f.Line != wantLines[k] {
			t.Fatalf("failure %d on line %d, want %d (%+v)", k, f.Line, wantLines[k], res.Failed)
		}
	}
	if !strings.Contains(res.Failed[1].Err, "unknown format") || !strings.Contains(res.Failed[2].Err, "in use") {
		t.Fatalf("failure reasons = %+v", res.Failed)
	}

	for name, email := range emails {
		err := e.deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			i, err := m.FindByIdentifierTx(ctx, tx, identity.CredentialsPassword, strings.ToUpper(email))
			if err != nil {
				return err
			}
			if ok, err := m.CheckPasswordTx(ctx, tx, i, "wrong"); ok || err != nil {
				return fmt.Errorf("wrong password accepted: %v %v", ok, err)
			}
			ok, err := m.CheckPasswordTx(ctx, tx, i, pw)
			if !ok || err != nil {
				return fmt.Errorf("right password refused: %v %v", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rec := e.call("GET", "/admin/identities?credentials_identifier="+email+"&include_credential=password", nil)
		wantStatus(t, rec, http.StatusOK)
		got := decode[[]identityJSON](t, rec)
		h, _ := got[0].Credentials["password"].Config["hashed_password"].(string)
		if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("%s: after login the hash is %q, want the current argon2id", name, h)
		}
	}
}

func TestExportImportRoundTripIsLossless(t *testing.T) {
	t.Parallel()
	src := newEnv(t)
	ctx := context.Background()
	body := person(uniqueEmail(t, "full"))
	body["credentials"] = map[string]any{
		"password": map[string]any{"config": map[string]any{"hashed_password": realHashes(t, "pw")["bcrypt"]}},
		"oidc":     map[string]any{"config": map[string]any{"providers": []map[string]any{{"provider": "google", "subject": "12345"}}}},
	}
	body["metadata_public"] = map[string]any{"a": 1}
	body["metadata_admin"] = map[string]any{"b": []int{2}}
	body["external_id"] = "ext-" + uniqueEmail(t, "x")
	body["state"] = "inactive"
	body["verifiable_addresses"] = []map[string]any{{"value": body["traits"].(map[string]any)["email"], "via": "email", "verified": true, "status": "completed"}}
	wantStatus(t, src.call("POST", "/admin/identities", body), http.StatusCreated)
	wantStatus(t, src.call("POST", "/admin/identities", person(uniqueEmail(t, "plain"))), http.StatusCreated)

	var first bytes.Buffer
	n, err := src.deps.Identities.Export(ctx, src.proj.Project, &first, "", nil)
	if err != nil || n != 2 {
		t.Fatalf("export = %d, %v", n, err)
	}
	dst := src.other()
	res, err := dst.deps.Identities.Import(ctx, dst.proj.Project, bytes.NewReader(first.Bytes()), identity.ImportOptions{})
	if err != nil || res.Imported != 2 || len(res.Failed) != 0 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	var second bytes.Buffer
	if _, err := dst.deps.Identities.Export(ctx, dst.proj.Project, &second, "", nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("round trip differs:\n first: %s\nsecond: %s", first.String(), second.String())
	}
	if !strings.Contains(first.String(), `"hashed_password":"$2a$05$`) || !strings.Contains(first.String(), `"verified":true`) || !strings.Contains(first.String(), `"google:12345"`) {
		t.Fatalf("export lacks hashes, verification or oidc: %s", first.String())
	}
}

package identity_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-crypt/crypt/algorithm"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"

	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/tenant"
)

// cryptHashes returns crypt(3) hashes of pw made by github.com/go-crypt/crypt,
// in Kratos's import encoding ($1$ -> $md5-crypt$, $5$ -> $sha256-crypt$,
// $6$ -> $sha512-crypt$).
func cryptHashes(t testing.TB, pw string) map[string]string {
	t.Helper()
	md5h, err := md5crypt.New()
	if err != nil {
		t.Fatal(err)
	}
	sha256h, err := shacrypt.New(shacrypt.WithSHA256(), shacrypt.WithIterations(shacrypt.IterationsDefaultOmitted))
	if err != nil {
		t.Fatal(err)
	}
	sha512h, err := shacrypt.New(shacrypt.WithSHA512(), shacrypt.WithIterations(8000))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range []struct {
		name, ident string
		hash        func(string) (algorithm.Digest, error)
	}{
		{"md5-crypt", "$1$", md5h.Hash},
		{"sha256-crypt", "$5$", sha256h.Hash},
		{"sha512-crypt", "$6$", sha512h.Hash},
	} {
		d, err := c.hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := strings.CutPrefix(d.Encode(), c.ident)
		if !ok {
			t.Fatalf("%s: library made %q", c.name, d.Encode())
		}
		out[c.name] = "$" + c.name + "$" + rest
	}
	return out
}

// TestImportCryptHashesThenLoginUpgrades imports md5-crypt, sha256-crypt and
// sha512-crypt hashes both through POST /admin/identities and through the
// JSONL importer; a password check accepts the right password, refuses a
// wrong one, and replaces the hash with the current argon2id one.
func TestImportCryptHashesThenLoginUpgrades(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	m, p := e.deps.Identities, e.proj.Project
	const pw = "Tr0ub4dor&3 horse"
	emails := map[string]string{}
	var in bytes.Buffer
	for name, h := range cryptHashes(t, pw) {
		// Admin API.
		email := uniqueEmail(t, "api-"+name)
		emails["api "+name] = email
		body := person(email)
		body["credentials"] = map[string]any{"password": map[string]any{"config": map[string]any{"hashed_password": h}}}
		wantStatus(t, e.call("POST", "/admin/identities", body), http.StatusCreated)
		// Importer.
		email = uniqueEmail(t, "jsonl-"+name)
		emails["jsonl "+name] = email
		fmt.Fprintf(&in, `{"schema_id":"default","traits":{"email":%q},"credentials":{"password":{"config":{"hashed_password":%q}}}}`+"\n", email, h)
	}
	// A crypt(3) string as-is (not Kratos's encoding) is refused with the reason.
	in.WriteString(`{"traits":{"email":"raw-crypt@example.com"},"credentials":{"password":{"config":{"hashed_password":"$1$abc$mEYYKBYwc4Odg5SoPgnFr/"}}}}` + "\n")
	res, err := m.Import(ctx, p, &in, identity.ImportOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 3 || len(res.Failed) != 1 || res.Failed[0].Line != 4 || !strings.Contains(res.Failed[0].Err, "unknown format") {
		t.Fatalf("import = %d imported, failures %+v; want 3 and line 4 unknown format", res.Imported, res.Failed)
	}

	for name, email := range emails {
		err := e.deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			i, err := m.FindByIdentifierTx(ctx, tx, identity.CredentialsPassword, email)
			if err != nil {
				return err
			}
			before := identity.HashedPassword(i)
			if !strings.HasPrefix(before, "$"+strings.TrimPrefix(strings.TrimPrefix(name, "api "), "jsonl ")+"$") {
				return fmt.Errorf("stored hash %q is not the imported one", before)
			}
			if ok, err := m.CheckPasswordTx(ctx, tx, i, "wrong"); ok || err != nil {
				return fmt.Errorf("wrong password accepted: %v %v", ok, err)
			}
			if identity.HashedPassword(i) != before {
				return fmt.Errorf("a wrong password changed the hash")
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

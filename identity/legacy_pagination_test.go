package identity_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var relRE = regexp.MustCompile(`<([^>]+)>; rel="([a-z]+)"`)

// links parses a Link header into rel -> query.
func links(t *testing.T, h string) map[string]url.Values {
	t.Helper()
	out := map[string]url.Values{}
	for _, m := range relRE.FindAllStringSubmatch(h, -1) {
		u, err := url.Parse(m[1])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(u.Path, "/admin/identities") {
			t.Fatalf("Link %s points at %s", m[2], u.Path)
		}
		out[m[2]] = u.Query()
	}
	return out
}

// wantLinks checks the rels present and each one's page (legacy mode).
func wantLinks(t *testing.T, h string, perPage string, want map[string]string) {
	t.Helper()
	got := links(t, h)
	if len(got) != len(want) {
		t.Fatalf("Link = %s; want rels %v", h, want)
	}
	for rel, page := range want {
		q, ok := got[rel]
		if !ok || q.Get("page") != page || q.Get("per_page") != perPage || q.Has("page_token") || q.Has("page_size") {
			t.Fatalf("Link rel=%s = %v; want page=%s per_page=%s (header %s)", rel, q, page, perPage, h)
		}
	}
}

func TestLegacyPagePagination(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	b := a.other()
	aIDs := map[string]bool{}
	var aEmail string
	for k := 0; k < 5; k++ {
		aEmail = uniqueEmail(t, fmt.Sprint("a", k))
		rec := a.call("POST", "/admin/identities", person(aEmail))
		wantStatus(t, rec, http.StatusCreated)
		aIDs[decode[identityJSON](t, rec).ID] = true
	}
	var bID string
	for k := 0; k < 3; k++ {
		rec := b.call("POST", "/admin/identities", person(uniqueEmail(t, fmt.Sprint("b", k))))
		wantStatus(t, rec, http.StatusCreated)
		bID = decode[identityJSON](t, rec).ID
	}

	get := func(e *env, query string, wantTotal string, wantLen int) *http.Response {
		t.Helper()
		rec := e.call("GET", "/admin/identities?"+query, nil)
		wantStatus(t, rec, http.StatusOK)
		if got := rec.Header().Get("X-Total-Count"); got != wantTotal {
			t.Fatalf("?%s: X-Total-Count = %q, want %q", query, got, wantTotal)
		}
		if n := len(decode[[]identityJSON](t, rec)); n != wantLen {
			t.Fatalf("?%s: %d identities, want %d", query, n, wantLen)
		}
		return rec.Result()
	}

	// Walk A's pages of 2 through rel="next": 3 pages, every identity once,
	// none of B's, and X-Total-Count counts A's 5 only.
	seen := map[string]bool{}
	query := "page=0&per_page=2"
	for pages := 0; query != ""; pages++ {
		if pages > 3 {
			t.Fatal("legacy pagination does not end")
		}
		rec := a.call("GET", "/admin/identities?"+query, nil)
		wantStatus(t, rec, http.StatusOK)
		if got := rec.Header().Get("X-Total-Count"); got != "5" {
			t.Fatalf("X-Total-Count = %q, want 5 (A's identities only)", got)
		}
		for _, i := range decode[[]identityJSON](t, rec) {
			if seen[i.ID] || !aIDs[i.ID] {
				t.Fatalf("identity %s repeated or not A's", i.ID)
			}
			seen[i.ID] = true
		}
		query = ""
		if next, ok := links(t, rec.Header().Get("Link"))["next"]; ok {
			query = next.Encode()
		}
	}
	if len(seen) != 5 {
		t.Fatalf("pages held %d identities, want 5", len(seen))
	}

	r := get(a, "page=0&per_page=2", "5", 2)
	wantLinks(t, r.Header.Get("Link"), "2", map[string]string{"first": "0", "next": "1", "last": "2"})
	r = get(a, "page=1&per_page=2", "5", 2)
	wantLinks(t, r.Header.Get("Link"), "2", map[string]string{"first": "0", "next": "2", "prev": "0", "last": "2"})
	r = get(a, "page=2&per_page=2", "5", 1)
	wantLinks(t, r.Header.Get("Link"), "2", map[string]string{"first": "0", "prev": "1", "last": "2"})
	r = get(a, "page=7&per_page=2", "5", 0) // past the end: prev is the last page
	wantLinks(t, r.Header.Get("Link"), "2", map[string]string{"first": "0", "prev": "2", "last": "2"})
	r = get(a, "page=0", "5", 5) // per_page defaults to 250
	wantLinks(t, r.Header.Get("Link"), "250", map[string]string{"first": "0", "last": "0"})
	r = get(a, "page=0&per_page=5000", "5", 5) // clamped to 500, as Kratos does
	wantLinks(t, r.Header.Get("Link"), "500", map[string]string{"first": "0", "last": "0"})
	get(a, "page=2&per_page=500", "5", 0) // page*per_page = 1000: still allowed
	get(a, "page=4&per_page=250", "5", 0)

	// Filters: the total counts the filtered identities of this project.
	r = get(a, "page=0&per_page=2&credentials_identifier="+url.QueryEscape(strings.ToUpper(aEmail)), "1", 1)
	wantLinks(t, r.Header.Get("Link"), "2", map[string]string{"first": "0", "last": "0"})
	if q := links(t, r.Header.Get("Link"))["first"]; q.Get("credentials_identifier") != strings.ToUpper(aEmail) {
		t.Fatalf("Link dropped the filter: %v", q)
	}
	r = get(a, "page=0&ids="+bID, "0", 0) // B's identity is not counted on A
	wantLinks(t, r.Header.Get("Link"), "250", map[string]string{"first": "0"})
	get(b, "page=0&per_page=2", "3", 2)

	// Keyset parameters win over page; a lone per_page is page_size.
	for _, q := range []string{"page=1&page_size=2", "per_page=2"} {
		rec := a.call("GET", "/admin/identities?"+q, nil)
		wantStatus(t, rec, http.StatusOK)
		if rec.Header().Get("X-Total-Count") != "" || len(decode[[]identityJSON](t, rec)) != 2 {
			t.Fatalf("?%s: not keyset pagination of 2 (headers %v)", q, rec.Header())
		}
		l := links(t, rec.Header().Get("Link"))
		if l["first"].Get("page_size") != "2" || l["next"].Get("page_token") == "" || l["next"].Has("per_page") {
			t.Fatalf("?%s: Link = %s", q, rec.Header().Get("Link"))
		}
	}

	// Bad values get the 400 envelope.
	for name, q := range map[string]string{
		"legacy_page_invalid":     "page=abc",
		"legacy_page_negative":    "page=-1&per_page=2",
		"legacy_per_page_invalid": "page=0&per_page=0",
		"legacy_page_limit":       "page=5&per_page=250",
		"legacy_page_limit_500":   "page=3&per_page=500",
		"legacy_page_overflow":    "page=4611686018427387904&per_page=4",
		"per_page_alone_invalid":  "per_page=x",
	} {
		rec := a.call("GET", "/admin/identities?"+q, nil)
		wantStatus(t, rec, http.StatusBadRequest)
		if name == "legacy_page_invalid" || name == "legacy_page_limit" {
			golden(t, name, rec)
		} else if e := decode[map[string]map[string]any](t, rec)["error"]; e["code"] != float64(400) || e["reason"] == "" {
			t.Fatalf("?%s: body %s", q, rec.Body.String())
		}
	}
}

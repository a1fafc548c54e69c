package session_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestMySessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	me := e.newIdentity("me@example.com")
	cur, o1, o2 := e.issue(me), e.issue(me), e.issue(me)
	stranger := e.issue(e.newIdentity("stranger@example.com"))

	w := e.do("GET", "/sessions", nil, tokenHdr(cur.Token))
	wantStatus(t, w, http.StatusOK)
	list := decode[[]sessionJSON](t, w)
	if len(list) != 2 || list[0].ID != o1.Session.ID.String() || list[1].ID != o2.Session.ID.String() {
		t.Fatalf("GET /sessions = %+v", list)
	}
	if list[0].Identity == nil || len(list[0].Devices) != 1 {
		t.Fatalf("listed session not expanded: %+v", list[0])
	}
	if got := w.Header().Get("X-Total-Count"); got != "2" {
		t.Fatalf("X-Total-Count = %q", got)
	}
	// Paging: one per page, the Link header leads to the second.
	w = e.do("GET", "/sessions?page_size=1", nil, tokenHdr(cur.Token))
	if l := decode[[]sessionJSON](t, w); len(l) != 1 || !strings.Contains(w.Header().Get("Link"), `page_token=`+o1.Session.ID.String()) {
		t.Fatalf("page 1 = %d sessions, Link %q", len(l), w.Header().Get("Link"))
	}
	w = e.do("GET", "/sessions?page_size=1&page_token="+o1.Session.ID.String(), nil, tokenHdr(cur.Token))
	if l := decode[[]sessionJSON](t, w); len(l) != 1 || l[0].ID != o2.Session.ID.String() || strings.Contains(w.Header().Get("Link"), `rel="next"`) {
		t.Fatalf("page 2 = %+v, Link %q", l, w.Header().Get("Link"))
	}
	wantStatus(t, e.do("GET", "/sessions?page_size=0", nil, tokenHdr(cur.Token)), http.StatusBadRequest)

	// The current session cannot be revoked here; another's is not found.
	w = e.do("DELETE", "/sessions/"+cur.Session.ID.String(), nil, tokenHdr(cur.Token))
	wantStatus(t, w, http.StatusBadRequest)
	wantStatus(t, e.do("DELETE", "/sessions/"+stranger.Session.ID.String(), nil, tokenHdr(cur.Token)), http.StatusNotFound)
	wantStatus(t, e.do("DELETE", "/sessions/whoami", nil, tokenHdr(cur.Token)), http.StatusBadRequest)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(stranger.Token)), http.StatusOK)

	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(o1.Token)), http.StatusOK)
	wantStatus(t, e.do("DELETE", "/sessions/"+o1.Session.ID.String(), nil, tokenHdr(cur.Token)), http.StatusNoContent)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(o1.Token)), http.StatusUnauthorized)

	w = e.do("DELETE", "/sessions", nil, tokenHdr(cur.Token))
	wantStatus(t, w, http.StatusOK)
	if got := decode[map[string]int](t, w); got["count"] != 1 {
		t.Fatalf("DELETE /sessions = %v", got)
	}
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(o2.Token)), http.StatusUnauthorized)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(cur.Token)), http.StatusOK)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(stranger.Token)), http.StatusOK)
}

func TestAdminSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ident := e.newIdentity("admin@example.com")
	s1, s2 := e.issue(ident), e.issue(ident)
	s3 := e.issue(e.newIdentity("admin2@example.com"))

	// Unauthenticated admin calls are refused.
	wantStatus(t, e.do("GET", "/admin/sessions", nil, nil), http.StatusUnauthorized)

	w := e.admin("GET", "/admin/sessions?page_size=2")
	wantStatus(t, w, http.StatusOK)
	page := decode[[]sessionJSON](t, w)
	if len(page) != 2 || page[0].ID != s1.Session.ID.String() || page[0].Identity != nil || page[0].Devices != nil {
		t.Fatalf("page 1 = %+v", page)
	}
	link := w.Header().Get("Link")
	if !strings.Contains(link, `rel="first"`) || !strings.Contains(link, "page_token="+s2.Session.ID.String()+`>; rel="next"`) {
		t.Fatalf("Link = %q", link)
	}
	w = e.admin("GET", "/admin/sessions?page_size=2&page_token="+s2.Session.ID.String()+"&expand=identity&expand=devices")
	if page := decode[[]sessionJSON](t, w); len(page) != 1 || page[0].ID != s3.Session.ID.String() || page[0].Identity == nil || len(page[0].Devices) != 1 {
		t.Fatalf("page 2 = %+v", page)
	}
	wantStatus(t, e.admin("GET", "/admin/sessions?expand=everything"), http.StatusBadRequest)
	wantStatus(t, e.admin("GET", "/admin/sessions?active=maybe"), http.StatusBadRequest)

	// Get, extend, disable.
	w = e.admin("GET", "/admin/sessions/"+s1.Session.ID.String())
	wantStatus(t, w, http.StatusOK)
	if got := decode[sessionJSON](t, w); got.Identity == nil || got.Identity.ID != ident.String() {
		t.Fatalf("get = %+v", got)
	}
	wantStatus(t, e.admin("GET", "/admin/sessions/not-a-uuid"), http.StatusBadRequest)
	wantStatus(t, e.admin("GET", "/admin/sessions/"+uuid.NewString()), http.StatusNotFound)

	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(s1.Token)), http.StatusOK) // cache it
	e.clock.Add(20 * time.Hour)
	w = e.admin("PATCH", "/admin/sessions/"+s1.Session.ID.String()+"/extend")
	wantStatus(t, w, http.StatusOK)
	ext := decode[sessionJSON](t, w)
	if want := e.clock.Now().Add(24 * time.Hour); ext.ExpiresAt.Sub(want).Abs() > time.Second {
		t.Fatalf("extended to %v, want about %v", ext.ExpiresAt, want)
	}
	w = e.do("GET", "/sessions/whoami", nil, tokenHdr(s1.Token))
	if got := decode[sessionJSON](t, w); !got.ExpiresAt.Equal(ext.ExpiresAt) {
		t.Fatalf("whoami after extend: expires_at %v, want %v", got.ExpiresAt, ext.ExpiresAt)
	}

	wantStatus(t, e.admin("DELETE", "/admin/sessions/"+s2.Session.ID.String()), http.StatusNoContent)
	w = e.admin("GET", "/admin/sessions?active=false")
	if l := decode[[]sessionJSON](t, w); len(l) != 1 || l[0].ID != s2.Session.ID.String() || l[0].Active {
		t.Fatalf("inactive list = %+v", l)
	}
	wantStatus(t, e.admin("PATCH", "/admin/sessions/"+s2.Session.ID.String()+"/extend"), http.StatusNotFound)

	// Per identity.
	w = e.admin("GET", "/admin/identities/"+ident.String()+"/sessions?active=true")
	if l := decode[[]sessionJSON](t, w); len(l) != 1 || l[0].ID != s1.Session.ID.String() {
		t.Fatalf("identity sessions = %+v", l)
	}
	wantStatus(t, e.admin("GET", "/admin/identities/"+uuid.NewString()+"/sessions"), http.StatusNotFound)
	wantStatus(t, e.admin("DELETE", "/admin/identities/"+ident.String()+"/sessions"), http.StatusNoContent)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(s1.Token)), http.StatusUnauthorized)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(s3.Token)), http.StatusOK)
	wantStatus(t, e.admin("DELETE", "/admin/identities/"+uuid.NewString()+"/sessions"), http.StatusNotFound)
}

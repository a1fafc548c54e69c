package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker/courier"
)

type courierMessage struct {
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	Type         string            `json:"type"`
	Recipient    string            `json:"recipient"`
	Subject      string            `json:"subject"`
	Body         string            `json:"body"`
	TemplateType string            `json:"template_type"`
	Channel      *string           `json:"channel"`
	SendCount    *int              `json:"send_count"`
	Dispatches   []json.RawMessage `json:"dispatches"`
	CreatedAt    string            `json:"created_at"`
	UpdatedAt    string            `json:"updated_at"`
}

func sendN(t *testing.T, d server.Deps, p *tenant.Project, to string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, err := d.Courier.Send(context.Background(), p, courier.Message{Recipient: to, TemplateType: courier.TemplateRecoveryCodeValid,
			Data: courier.Data{RecoveryCode: "90210" + string(rune('0'+i))}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.String())
	}
	return ids
}

func decodeList(t *testing.T, w *httptest.ResponseRecorder) []courierMessage {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", w.Code, w.Body)
	}
	var list []courierMessage
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatalf("list is not an array of messages: %v: %s", err, w.Body)
	}
	return list
}

var nextRE = regexp.MustCompile(`<([^>]+)>; rel="next"`)

func TestCourierAdminListGetPagingAndIsolation(t *testing.T) {
	t.Parallel()
	d := servertest.Deps(t)
	h := server.APIRouter(d)
	a, b := tenanttest.NewProject(t), tenanttest.NewProject(t)
	ids := sendN(t, d, a.Project, "alice@a.test", 3)
	sendN(t, d, a.Project, "bob@a.test", 1)
	bIDs := sendN(t, d, b.Project, "carol@b.test", 1)

	// The list, newest first, in the Kratos shape.
	list := decodeList(t, doChecked(t, h, req{host: host(a.Project), path: "/admin/courier/messages", key: a.APIKey}))
	if len(list) != 4 {
		t.Fatalf("A lists %d messages, want 4", len(list))
	}
	m := list[1]
	if m.ID != ids[2] || m.Status != "queued" || m.Type != "email" || m.Recipient != "alice@a.test" ||
		m.TemplateType != "recovery_code_valid" || m.Subject != "Recover access to your account" ||
		!strings.Contains(m.Body, "902102") || m.SendCount == nil || m.CreatedAt == "" || m.Dispatches != nil {
		t.Errorf("list item %+v is not the Kratos message of %s", m, ids[2])
	}
	if !strings.Contains(doChecked(t, h, req{host: host(a.Project), path: "/admin/courier/messages", key: a.APIKey}).Body.String(), `"channel":null`) {
		t.Error("channel should be null, as in Kratos")
	}

	// Filters.
	if got := decodeList(t, doChecked(t, h, req{host: host(a.Project), path: "/admin/courier/messages?recipient=bob@a.test", key: a.APIKey})); len(got) != 1 || got[0].Recipient != "bob@a.test" {
		t.Errorf("recipient filter gave %+v", got)
	}
	if got := decodeList(t, doChecked(t, h, req{host: host(a.Project), path: "/admin/courier/messages?status=sent", key: a.APIKey})); len(got) != 0 {
		t.Errorf("status=sent gave %d messages, want 0", len(got))
	}

	// Paging: 2 + 2 through the Link header, by path routing too.
	w := doChecked(t, h, req{host: "localhost:4433", path: "/p/" + a.Project.Slug + "/admin/courier/messages?page_size=2", key: a.APIKey})
	first := decodeList(t, w)
	link := nextRE.FindStringSubmatch(w.Header().Get("Link"))
	if len(first) != 2 || link == nil {
		t.Fatalf("page 1: %d items, Link %q", len(first), w.Header().Get("Link"))
	}
	next := strings.TrimPrefix(link[1], "http://localhost:4433")
	w = doChecked(t, h, req{host: "localhost:4433", path: next, key: a.APIKey})
	second := decodeList(t, w)
	if len(second) != 2 || second[0].ID == first[1].ID || second[1].ID != ids[0] || nextRE.MatchString(w.Header().Get("Link")) {
		t.Fatalf("page 2: %+v, Link %q; want the two oldest and no next", second, w.Header().Get("Link"))
	}

	// Get (dispatches are omitted while there are none, as in Kratos).
	w = doChecked(t, h, req{host: host(a.Project), path: "/admin/courier/messages/" + ids[0], key: a.APIKey})
	var one courierMessage
	if err := json.Unmarshal(w.Body.Bytes(), &one); w.Code != 200 || err != nil || one.ID != ids[0] || one.Recipient != "alice@a.test" {
		t.Fatalf("get: %d %s", w.Code, w.Body)
	}

	// Isolation: A's key on B, B's message through A, A's token on B.
	for name, r := range map[string]struct {
		req    req
		status int
		id     string
	}{
		"A key lists B":          {req{host: host(b.Project), path: "/admin/courier/messages", key: a.APIKey}, 401, ""},
		"A key reads B":          {req{host: host(b.Project), path: "/admin/courier/messages/" + bIDs[0], key: a.APIKey}, 401, ""},
		"B message through A":    {req{host: host(a.Project), path: "/admin/courier/messages/" + bIDs[0], key: a.APIKey}, 404, ""},
		"A page token on B":      {req{host: "localhost:4433", path: strings.Replace(next, a.Project.Slug, b.Project.Slug, 1), key: b.APIKey}, 400, "invalid_page_token"},
		"tampered token":         {req{host: host(a.Project), path: "/admin/courier/messages?page_token=AAAA.BBBB", key: a.APIKey}, 400, "invalid_page_token"},
		"no key":                 {req{host: host(a.Project), path: "/admin/courier/messages"}, 401, ""},
		"bad id":                 {req{host: host(a.Project), path: "/admin/courier/messages/not-a-uuid", key: a.APIKey}, 400, ""},
		"unknown id":             {req{host: host(a.Project), path: "/admin/courier/messages/0190b6a4-0000-7000-8000-000000000000", key: a.APIKey}, 404, ""},
		"bad status":             {req{host: host(a.Project), path: "/admin/courier/messages?status=lost", key: a.APIKey}, 400, ""},
		"bad page_size":          {req{host: host(a.Project), path: "/admin/courier/messages?page_size=0", key: a.APIKey}, 400, ""},
		"page_size over the max": {req{host: host(a.Project), path: "/admin/courier/messages?page_size=1001", key: a.APIKey}, 400, ""},
	} {
		w := doChecked(t, h, r.req)
		var env struct {
			Error struct {
				ID     string `json:"id"`
				Code   int    `json:"code"`
				Reason string `json:"reason"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); w.Code != r.status || err != nil || env.Error.Code != r.status || env.Error.ID != r.id {
			t.Errorf("%s: %d %s; want %d with id %q in the error envelope", name, w.Code, w.Body, r.status, r.id)
		}
		if r.status == 400 && env.Error.Reason == "" {
			t.Errorf("%s: a 400 without a reason", name)
		}
	}
}

func TestCourierAdminRedactsInProduction(t *testing.T) {
	t.Parallel()
	d := servertest.Deps(t)
	env := tenanttest.Get(t)
	cfg := env.Config
	cfg.Mode = config.ModeProduction
	var err error
	if d.Courier, err = courier.NewFromConfig(cfg, env.DB, env.Registry, nil, d.Log); err != nil {
		t.Fatal(err)
	}
	h := server.APIRouter(d)
	a := tenanttest.NewProject(t)
	ids := sendN(t, d, a.Project, "dave@a.test", 1)
	for _, path := range []string{"/admin/courier/messages", "/admin/courier/messages/" + ids[0]} {
		w := doChecked(t, h, req{host: host(a.Project), path: path, key: a.APIKey})
		body := strings.TrimSuffix(strings.TrimPrefix(w.Body.String(), "["), "]")
		var m courierMessage
		if err := json.Unmarshal([]byte(body), &m); w.Code != 200 || err != nil || m.Subject != courier.Redacted || m.Body != courier.Redacted ||
			strings.Contains(body, "902100") || m.Recipient != "dave@a.test" {
			t.Errorf("%s: %d %s; want subject and body redacted", path, w.Code, w.Body)
		}
	}
}

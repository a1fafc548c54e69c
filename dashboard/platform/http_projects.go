package platform

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Project is a project as the platform API shows it.
type Project struct {
	ID          uuid.UUID `json:"id"`
	WorkspaceID uuid.UUID `json:"workspace_id"`
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	Environment string    `json:"environment"`
	State       string    `json:"state"`
	// URL is the project's public base URL; its admin API is under /admin.
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (a *API) view(p *tenant.Project) *Project {
	return &Project{ID: p.ID, WorkspaceID: p.WorkspaceID, Slug: p.Slug, Name: p.Name, Environment: p.Environment,
		State: p.State, URL: a.o.ProjectURL(p.Slug), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func projectPos(p *Project) cursor { return cursor{At: p.CreatedAt, ID: p.ID.String()} }

// listProjects answers GET /api/v1/workspaces/{workspace}/projects, newest
// first, by keyset over the workspace's index of active projects.
func (a *API) listProjects(c *gin.Context) error {
	_, ws, _, err := a.workspace(c, RoleViewer)
	if err != nil {
		return err
	}
	pg, err := a.readPage(c, "projects", ws)
	if err != nil {
		return err
	}
	list, err := a.st.listProjects(c, ws, pg.after, pg.size+1)
	if err != nil {
		return err
	}
	out := make([]*Project, len(list))
	for i, p := range list {
		out[i] = a.view(p)
	}
	c.JSON(http.StatusOK, finish(a, "projects", ws, pg, out, projectPos))
	return nil
}

type createProjectBody struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
}

// createProject answers POST /api/v1/workspaces/{workspace}/projects. The
// answer carries the first API key's secret, shown this once.
func (a *API) createProject(c *gin.Context) error {
	p, ws, _, err := a.workspace(c, RoleAdmin)
	if err != nil {
		return err
	}
	var b createProjectBody
	if err := httpx.BindJSON(c, &b, true); err != nil {
		return err
	}
	if b.Environment == "" {
		b.Environment = tenant.EnvDev
	}
	created, err := a.o.Registry.Create(c, tenant.CreateParams{Name: b.Name, Environment: b.Environment, WorkspaceID: ws})
	if err != nil {
		return err
	}
	pr := created.Project
	if err := a.st.writeAudit(c, nil, p, info(c), audit{Workspace: ws, Action: "project.create", TargetType: "project", TargetID: pr.ID.String(),
		Data: map[string]any{"name": pr.Name, "slug": pr.Slug, "environment": pr.Environment}}); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"project": a.view(pr), "api_key": created.APIKey})
	return nil
}

// getProject answers GET /api/v1/projects/{project}.
func (a *API) getProject(c *gin.Context) error {
	_, pr, err := a.project(c, RoleViewer)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, a.view(pr))
	return nil
}

type deleteProjectBody struct {
	Confirm string `json:"confirm"`
}

// deleteProject answers DELETE /api/v1/projects/{project}; the body must
// repeat the project's slug ({"confirm": "<slug>"}). The project stops
// answering at once; its schema is dropped by the worker.
func (a *API) deleteProject(c *gin.Context) error {
	p, pr, err := a.project(c, RoleAdmin)
	if err != nil {
		return err
	}
	var b deleteProjectBody
	if err := httpx.BindJSON(c, &b, true); err != nil {
		return err
	}
	if b.Confirm != pr.Slug {
		return errx.Newf(errx.Invalid, "To delete the project, send {\"confirm\": %q}.", pr.Slug).WithID("confirmation_mismatch")
	}
	if _, err := a.o.Registry.Delete(c, pr.ID); err != nil {
		return err
	}
	if err := a.st.writeAudit(c, nil, p, info(c), audit{Workspace: pr.WorkspaceID, Action: "project.delete", TargetType: "project", TargetID: pr.ID.String(),
		Data: map[string]any{"name": pr.Name, "slug": pr.Slug}}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type createKeyBody struct {
	Name string `json:"name"`
}

// createAPIKey answers POST /api/v1/projects/{project}/api-keys; the secret
// is in this answer only.
func (a *API) createAPIKey(c *gin.Context) error {
	p, pr, err := a.project(c, RoleAdmin)
	if err != nil {
		return err
	}
	var b createKeyBody
	if err := httpx.BindJSON(c, &b, true); err != nil {
		return err
	}
	secret, key, err := a.o.Registry.CreateAPIKey(c, pr.ID, b.Name)
	if err != nil {
		return err
	}
	if err := a.st.writeAudit(c, nil, p, info(c), audit{Workspace: pr.WorkspaceID, Action: "api_key.create", TargetType: "api_key", TargetID: key.ID.String(),
		Data: map[string]any{"project": pr.ID, "name": key.Name}}); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"api_key": key, "secret": secret})
	return nil
}

func keyPos(k *tenant.APIKey) cursor { return cursor{At: k.CreatedAt, ID: k.ID.String()} }

// listAPIKeys answers GET /api/v1/projects/{project}/api-keys, newest
// first, with each key's last use.
func (a *API) listAPIKeys(c *gin.Context) error {
	_, pr, err := a.project(c, RoleViewer)
	if err != nil {
		return err
	}
	pg, err := a.readPage(c, "api_keys", pr.ID)
	if err != nil {
		return err
	}
	list, err := a.st.listAPIKeys(c, pr.ID, pg.after, pg.size+1)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, finish(a, "api_keys", pr.ID, pg, list, keyPos))
	return nil
}

// revokeAPIKey answers DELETE /api/v1/projects/{project}/api-keys/{key}.
func (a *API) revokeAPIKey(c *gin.Context) error {
	p, pr, err := a.project(c, RoleAdmin)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Param("key"))
	if err != nil {
		return errx.New(errx.NotFound, "The API key could not be found.")
	}
	if err := a.o.Registry.RevokeAPIKey(c, pr.ID, id); err != nil {
		return err
	}
	if err := a.st.writeAudit(c, nil, p, info(c), audit{Workspace: pr.WorkspaceID, Action: "api_key.revoke", TargetType: "api_key", TargetID: id.String(),
		Data: map[string]any{"project": pr.ID}}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// proxy serves a platform route with the project's admin API handler
// (the same code as /admin/...): it checks the caller's role, binds the
// project, rewrites the path to admin(c) and, for a change that succeeded,
// writes an audit event named action (empty for reads).
func (a *API) proxy(min Role, action string, admin func(c *gin.Context) string) httpx.Handler {
	return a.forward(min, admin, func(c *gin.Context, pr *tenant.Project, body []byte) *audit {
		if action == "" {
			return nil
		}
		target := c.Param("id")
		if target == "" { // a creation: the new identity's id
			var made struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(body, &made)
			target = made.ID
		}
		return &audit{Action: action, TargetType: "identity", TargetID: target}
	})
}

// forward serves a platform route with the project's admin handler at the
// path admin returns: the caller needs role min in the project's
// workspace; a successful answer (below 300) is first recorded in the
// audit log as record describes it (nil: nothing to record; the workspace
// and the project are filled in); Link and Location headers are rewritten
// to the platform routes.
func (a *API) forward(min Role, admin func(c *gin.Context) string, record func(c *gin.Context, pr *tenant.Project, body []byte) *audit) httpx.Handler {
	return func(c *gin.Context) error {
		p, pr, err := a.project(c, min)
		if err != nil {
			return err
		}
		base := a.o.ProjectURL(pr.Slug)
		ctx := tenant.WithBinding(c.Request.Context(), &tenant.Binding{Project: pr, BaseURL: base})
		req := c.Request.Clone(ctx)
		req.URL.Path = admin(c)
		req.URL.RawPath = ""
		req.RequestURI = ""
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		a.o.Admin.ServeHTTP(rec, req)

		if rec.status < 300 {
			if ev := record(c, pr, rec.body.Bytes()); ev != nil {
				ev.Workspace = pr.WorkspaceID
				if ev.Data == nil {
					ev.Data = map[string]any{}
				}
				ev.Data["project"], ev.Data["slug"] = pr.ID, pr.Slug
				if err := a.st.writeAudit(c, nil, p, info(c), *ev); err != nil {
					return err
				}
			}
		}
		// Links point at the platform route, not the admin one.
		prefix := "/api/v1/projects/" + pr.ID.String()
		links := strings.NewReplacer(base+"/admin/courier/messages", prefix+"/email/messages", base+"/admin/", prefix+"/")
		for k, vs := range rec.header {
			for i, v := range vs {
				if k == "Link" || k == "Location" {
					v = links.Replace(v)
				}
				if i == 0 {
					c.Writer.Header().Set(k, v)
				} else {
					c.Writer.Header().Add(k, v)
				}
			}
		}
		c.Writer.WriteHeader(rec.status)
		_, _ = io.Copy(c.Writer, &rec.body)
		c.Abort()
		return nil
	}
}

// recorder buffers the admin handler's answer, so that the audit event is
// written before the client sees it.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if !r.wrote {
		r.status, r.wrote = s, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// recoveryCode answers POST /api/v1/projects/{project}/identities/{id}/recovery-code
// with a one-time recovery link and code for the identity, made by the
// project's admin recovery endpoint.
func (a *API) recoveryCode() httpx.Handler {
	inner := a.proxy(RoleAdmin, "identity.recovery_code", func(c *gin.Context) string { return "/admin/recovery/code" })
	return func(c *gin.Context) error {
		id, err := uuid.Parse(c.Param("id"))
		if err != nil {
			return errx.New(errx.NotFound, "Unable to locate the resource").WithID("identity_not_found")
		}
		var b struct {
			ExpiresIn string `json:"expires_in"`
		}
		if c.Request.ContentLength != 0 {
			if err := httpx.BindJSON(c, &b, true); err != nil {
				return err
			}
		}
		body, _ := json.Marshal(map[string]any{"identity_id": id, "expires_in": b.ExpiresIn})
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		c.Request.ContentLength = int64(len(body))
		c.Request.Header.Set("Content-Type", "application/json")
		return inner(c)
	}
}

package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// usersExtraRoutes registers the recovery mail and the project usage
// chart.
func (a *API) usersExtraRoutes(g gin.IRouter) {
	w := httpx.Wrap
	g.POST("/projects/:project/identities/:id/recovery-link", w(a.sendRecoveryLink))
	g.GET("/projects/:project/usage", w(a.getProjectUsage))
}

var (
	errNoRecoveryAddress = errx.New(errx.Invalid, "The user has no recovery email address, so no recovery link can be mailed. Create a recovery link and pass it on instead.").WithID("no_recovery_address")
	errMailUnavailable   = errx.New(errx.Unavailable, "Mail is not configured on this server, so recovery links cannot be sent.")
)

// adminAnswer is what the project's admin API answered to one call.
type adminAnswer struct {
	status int
	body   []byte
}

func (r adminAnswer) failed() bool { return r.status >= 300 }

// relay writes a failed admin answer (already an error envelope) as the
// platform's answer.
func (r adminAnswer) relay(c *gin.Context) error {
	c.Data(r.status, "application/json; charset=utf-8", r.body)
	c.Abort()
	return nil
}

// admin calls the project's admin API in-process, as proxy does, and
// returns its answer.
func (a *API) admin(c *gin.Context, pr *tenant.Project, method, path string, body any) (adminAnswer, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return adminAnswer{}, err
		}
		rd = bytes.NewReader(raw)
	}
	ctx := tenant.WithBinding(c.Request.Context(), &tenant.Binding{Project: pr, BaseURL: a.o.ProjectURL(pr.Slug)})
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return adminAnswer{}, err
	}
	req.Host = c.Request.Host
	req.RemoteAddr = c.Request.RemoteAddr
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	a.o.Admin.ServeHTTP(rec, req)
	return adminAnswer{status: rec.status, body: rec.body.Bytes()}, nil
}

type recoveryLinkBody struct {
	// Send must be true (or left out): the link is mailed, never shown.
	Send *bool `json:"send"`
}

// sendRecoveryLink answers POST
// /api/v1/projects/{project}/identities/{id}/recovery-link {"send": true}
// (admin): it makes a one-time recovery link with the project's admin
// recovery endpoint and queues it, in the project's "recovery_valid" mail
// template, to the identity's first email recovery address through the
// courier's outbox. 202 {"sent_to": address}; 400 no_recovery_address when
// the identity has none; 404 for an unknown identity.
func (a *API) sendRecoveryLink(c *gin.Context) error {
	p, pr, err := a.project(c, RoleAdmin)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errx.New(errx.NotFound, "Unable to locate the resource").WithID("identity_not_found")
	}
	var b recoveryLinkBody
	if c.Request.ContentLength != 0 {
		if err := httpx.BindJSON(c, &b, true); err != nil {
			return err
		}
	}
	if b.Send != nil && !*b.Send {
		return errx.New(errx.Invalid, `This endpoint mails the link: send {"send": true}. To show a link instead, use the recovery-code endpoint.`).WithID("invalid_send")
	}
	if a.o.Mailer == nil {
		return errMailUnavailable
	}

	got, err := a.admin(c, pr, http.MethodGet, "/admin/identities/"+id.String(), nil)
	if err != nil {
		return err
	}
	if got.failed() {
		return got.relay(c)
	}
	var ident struct {
		State             string         `json:"state"`
		Traits            map[string]any `json:"traits"`
		RecoveryAddresses []struct {
			Via   string `json:"via"`
			Value string `json:"value"`
		} `json:"recovery_addresses"`
	}
	if err := json.Unmarshal(got.body, &ident); err != nil {
		return fmt.Errorf("platform.sendRecoveryLink: identity: %w", err)
	}
	to := ""
	for _, ra := range ident.RecoveryAddresses {
		if ra.Via == "email" && ra.Value != "" {
			to = ra.Value
			break
		}
	}
	if to == "" {
		return errNoRecoveryAddress
	}

	made, err := a.admin(c, pr, http.MethodPost, "/admin/recovery/link", map[string]any{"identity_id": id})
	if err != nil {
		return err
	}
	if made.failed() {
		return made.relay(c)
	}
	var link struct {
		RecoveryLink string    `json:"recovery_link"`
		ExpiresAt    time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(made.body, &link); err != nil || link.RecoveryLink == "" {
		return fmt.Errorf("platform.sendRecoveryLink: link: %v", err)
	}
	locale, _ := ident.Traits["locale"].(string)
	minutes := int(time.Until(link.ExpiresAt).Round(time.Minute).Minutes())
	// Send writes the message and its outbox row in one transaction and
	// hands it to the mail queue; the worker delivers it.
	if _, err := a.o.Mailer.Send(c, pr, courier.Message{Recipient: to, TemplateType: courier.TemplateRecoveryValid, Locale: locale,
		Data: courier.Data{RecoveryURL: link.RecoveryLink, ExpiresInMinutes: minutes, Traits: ident.Traits}}); err != nil {
		return fmt.Errorf("platform.sendRecoveryLink: send: %w", err)
	}
	if err := a.st.writeAudit(c, nil, p, info(c), audit{Workspace: pr.WorkspaceID, Action: "identity.recovery_link", TargetType: "identity", TargetID: id.String(),
		Data: map[string]any{"project": pr.ID, "slug": pr.Slug, "sent_to": to}}); err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"sent_to": to})
	return nil
}

// ProjectUsageDay is one day of a project's usage chart.
type ProjectUsageDay struct {
	Date    string `json:"date"`
	Signups int64  `json:"signups"`
	Active  int64  `json:"active"`
}

// getProjectUsage answers GET /api/v1/projects/{project}/usage?month=YYYY-MM
// (viewer; default the current month): day by day, the identities created
// and the identities active (signed up or got a session) in the project.
// Every day of a past month, the days so far of the current one, none of
// a future one. Two indexed queries: identities by created_at in the
// project's schema, platform.usage_daily by project and day.
func (a *API) getProjectUsage(c *gin.Context) error {
	_, pr, err := a.project(c, RoleViewer)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if a.o.Billing != nil {
		now = a.o.Billing.Now()
	}
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	month := thisMonth
	if v := c.Query("month"); v != "" || c.Request.URL.Query().Has("month") {
		m, err := time.Parse("2006-01", v)
		if err != nil || m.Year() < 2000 || m.Year() > 9999 {
			return errBadMonth
		}
		month = m
	}
	days := []ProjectUsageDay{}
	if !month.After(thisMonth) {
		end := month.AddDate(0, 1, 0)
		n := int(end.Sub(month).Hours() / 24)
		if month.Equal(thisMonth) {
			n = now.Day()
		}
		signups, active, err := a.projectUsage(c, pr, month, end)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			d := month.AddDate(0, 0, i)
			days = append(days, ProjectUsageDay{Date: d.Format(time.DateOnly), Signups: signups[i+1], Active: active[i+1]})
		}
	}
	c.JSON(http.StatusOK, gin.H{"month": month.Format("2006-01"), "days": days})
	return nil
}

// projectUsage counts, by day of the month [from, to), the project's new
// identities and its active identities.
func (a *API) projectUsage(ctx context.Context, pr *tenant.Project, from, to time.Time) (signups, active map[int]int64, err error) {
	signups, active = map[int]int64{}, map[int]int64{}
	byDay := func(into map[int]int64) func(pgx.Rows) error {
		return func(rows pgx.Rows) error {
			for rows.Next() {
				var day time.Time
				var n int64
				if err := rows.Scan(&day, &n); err != nil {
					return err
				}
				into[day.Day()] = n
			}
			return rows.Err()
		}
	}
	err = a.o.Registry.DB().Read(ctx, pr, `SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) FROM identities
		WHERE created_at >= $1 AND created_at < $2 GROUP BY day`, []any{from, to}, byDay(signups))
	if err != nil {
		return nil, nil, fmt.Errorf("platform.projectUsage: signups: %w", err)
	}
	rows, err := a.st.db.Query(ctx, `SELECT day, count(*) FROM platform.usage_daily
		WHERE project_id = $1 AND day >= $2 AND day < $3 GROUP BY day`, pr.ID, from, to)
	if err != nil {
		return nil, nil, fmt.Errorf("platform.projectUsage: active: %w", err)
	}
	defer rows.Close()
	if err := byDay(active)(rows); err != nil {
		return nil, nil, fmt.Errorf("platform.projectUsage: active: %w", err)
	}
	return signups, active, nil
}

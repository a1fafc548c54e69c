package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
)

// The Billing page of the dashboard: a workspace's plan, its period, its
// monthly active users (MAU) per project and in total, the projected
// overage, the daily chart, and the Stripe Checkout and customer portal
// sessions that change the plan and the payment details.

var errBillingUnavailable = errx.New(errx.Unavailable, "Billing is not available on this server.").WithID("billing_disabled")

// PlanView is a plan as the Billing page shows it.
type PlanView struct {
	Name                string              `json:"name"`
	Title               string              `json:"title"`
	IncludedMAU         int64               `json:"included_mau"`
	HardMAUCap          bool                `json:"hard_mau_cap"`
	ProjectLimit        int                 `json:"project_limit"`
	MonthlyPriceCents   int64               `json:"monthly_price_cents"`
	OverageCentsPer1000 int64               `json:"overage_cents_per_1000"`
	Features            config.PlanFeatures `json:"features"`
}

func planView(p billing.Plan) PlanView {
	return PlanView{Name: p.Name, Title: p.Title, IncludedMAU: p.IncludedMAU, HardMAUCap: p.HardMAUCap, ProjectLimit: p.ProjectLimit,
		MonthlyPriceCents: p.MonthlyPriceCents, OverageCentsPer1000: p.OverageCentsPer1000, Features: p.Features}
}

// ProjectMAU is one project's MAU in the current month.
type ProjectMAU struct {
	ProjectID uuid.UUID `json:"project_id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	MAU       int64     `json:"mau"`
}

// BillingPeriod is the period the Billing page shows.
type BillingPeriod struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// BillingOverview is the answer of GET /api/v1/workspaces/{workspace}/billing.
type BillingOverview struct {
	Enabled            bool          `json:"enabled"`
	Plan               PlanView      `json:"plan"`
	SubscriptionStatus string        `json:"subscription_status"`
	CurrentPeriodEnd   *time.Time    `json:"current_period_end,omitempty"`
	GraceUntil         *time.Time    `json:"grace_until,omitempty"`
	Period             BillingPeriod `json:"period"`
	MAU                struct {
		Total    int64        `json:"total"`
		Projects []ProjectMAU `json:"projects"`
	} `json:"mau"`
	ProjectedOverageCents int64      `json:"projected_overage_cents"`
	Currency              string     `json:"currency"`
	Plans                 []PlanView `json:"plans"`
	CustomerPortal        bool       `json:"customer_portal"`
}

// getBilling answers GET /api/v1/workspaces/{workspace}/billing (viewer):
// the plan in force, the period (the subscription's current period, else
// the calendar month in UTC), this calendar month's MAU per project and in
// total, what the MAU so far cost on top of the base price, and every
// configured plan.
func (a *API) getBilling(c *gin.Context) error {
	_, ws, _, err := a.workspace(c, RoleViewer)
	if err != nil {
		return err
	}
	b := a.o.Billing
	if b == nil {
		return errBillingUnavailable
	}
	st, err := b.Status(c, ws)
	if err != nil {
		return err
	}
	now := b.Now()
	month := billing.MonthOf(now)
	u, err := b.MAU(c, ws, month)
	if err != nil {
		return err
	}
	out := BillingOverview{Enabled: b.Enabled(), Plan: planView(st.Plan), SubscriptionStatus: st.SubscriptionStatus,
		GraceUntil: st.GraceUntil, Currency: "usd", CustomerPortal: b.Enabled() && st.CustomerID != "",
		Period: BillingPeriod{Start: month, End: month.AddDate(0, 1, 0)}}
	if b.Enabled() && st.SubscriptionID != "" {
		out.CurrentPeriodEnd = st.CurrentPeriodEnd
		if end := st.CurrentPeriodEnd; end != nil && end.After(now) && st.SubscriptionStatus != "canceled" {
			out.Period = BillingPeriod{Start: end.AddDate(0, -1, 0).UTC(), End: end.UTC()}
		}
	}
	out.MAU.Total = u.Total
	if out.MAU.Projects, err = a.projectMAU(c, ws, u.PerProject); err != nil {
		return err
	}
	out.ProjectedOverageCents = billing.OverageCents(st.Plan, u.Total)
	for _, p := range b.Plans().List() {
		out.Plans = append(out.Plans, planView(p))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// projectMAU lists the workspace's active projects, and the removed ones
// that counted users this month, with their MAU (oldest project first).
func (a *API) projectMAU(ctx context.Context, ws uuid.UUID, per map[uuid.UUID]int64) ([]ProjectMAU, error) {
	ids := make([]uuid.UUID, 0, len(per))
	for id := range per {
		ids = append(ids, id)
	}
	rows, err := a.st.db.Query(ctx, `SELECT id, slug, name FROM platform.projects
		WHERE workspace_id = $1 AND (state = 'active' OR id = ANY($2)) ORDER BY created_at, id`, ws, ids)
	if err != nil {
		return nil, fmt.Errorf("platform.billing: projects: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProjectMAU, error) {
		var p ProjectMAU
		err := r.Scan(&p.ProjectID, &p.Slug, &p.Name)
		p.MAU = per[p.ProjectID]
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("platform.billing: projects: %w", err)
	}
	if list == nil {
		list = []ProjectMAU{}
	}
	return list, nil
}

// UsageDay is one day of GET /api/v1/workspaces/{workspace}/billing/usage.
type UsageDay struct {
	Date   string `json:"date"`
	Active int64  `json:"active"`
	MAU    int64  `json:"mau"`
}

var errBadMonth = errx.New(errx.Invalid, "month must be a calendar month written YYYY-MM, e.g. 2026-11.").WithID("invalid_month")

// getBillingUsage answers GET /api/v1/workspaces/{workspace}/billing/usage
// (viewer): day by day in ?month=YYYY-MM (default: the current month), the
// identities active that day across the workspace's projects and the
// month's cumulative MAU. It reads the month's records of the workspace
// only (two indexed queries).
func (a *API) getBillingUsage(c *gin.Context) error {
	_, ws, _, err := a.workspace(c, RoleViewer)
	if err != nil {
		return err
	}
	b := a.o.Billing
	if b == nil {
		return errBillingUnavailable
	}
	month := billing.MonthOf(b.Now())
	if v := c.Query("month"); v != "" {
		m, err := time.Parse("2006-01", v)
		if err != nil || m.Year() < 2000 || m.Year() > 9999 {
			return errBadMonth
		}
		month = m
	}
	days, err := b.Daily(c, ws, month)
	if err != nil {
		return err
	}
	out := make([]UsageDay, len(days))
	for i, d := range days {
		out[i] = UsageDay{Date: d.Date.Format(time.DateOnly), Active: d.Active, MAU: d.MAU}
	}
	c.JSON(http.StatusOK, gin.H{"month": month.Format("2006-01"), "days": out})
	return nil
}

type checkoutBody struct {
	Plan       string `json:"plan"`
	SuccessURL string `json:"success_url"`
	CancelURL  string `json:"cancel_url"`
}

// startCheckout answers POST /api/v1/workspaces/{workspace}/billing/checkout
// (owner): a Stripe Checkout session that subscribes the workspace to the
// plan; the dashboard sends the browser to its url. The return URLs
// default to the workspace's Billing page and must be on the dashboard's
// origin. Billing off: 400 billing_disabled.
func (a *API) startCheckout(c *gin.Context) error {
	p, ws, _, err := a.workspace(c, RoleOwner)
	if err != nil {
		return err
	}
	var body checkoutBody
	if err := httpx.BindJSON(c, &body, true); err != nil {
		return err
	}
	b := a.o.Billing
	if b == nil || !b.Enabled() {
		return billing.ErrDisabled
	}
	if strings.TrimSpace(body.Plan) == "" {
		return errx.New(errx.Invalid, "plan is required: the name of the plan to subscribe to.").WithID("billing_unknown_plan")
	}
	page := a.billingPage(ws)
	success, err := a.returnURL(body.SuccessURL, page+"?checkout=success")
	if err != nil {
		return err
	}
	cancel, err := a.returnURL(body.CancelURL, page+"?checkout=cancel")
	if err != nil {
		return err
	}
	var wsName string
	if err := a.st.db.QueryRow(c, `SELECT name FROM platform.workspaces WHERE id = $1`, ws).Scan(&wsName); err != nil {
		return fmt.Errorf("platform.startCheckout: %w", err)
	}
	u, err := b.Checkout(c, billing.CheckoutParams{WorkspaceID: ws, Plan: body.Plan, Email: p.Email, Name: wsName,
		SuccessURL: success, CancelURL: cancel})
	if err != nil {
		return err
	}
	if err := a.st.writeAudit(c, nil, p, info(c), audit{Workspace: ws, Action: "billing.checkout", TargetType: "workspace",
		TargetID: ws.String(), Data: map[string]any{"plan": body.Plan}}); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"url": u})
	return nil
}

type portalBody struct {
	ReturnURL string `json:"return_url"`
}

// openPortal answers POST /api/v1/workspaces/{workspace}/billing/portal
// (owner): a Stripe customer portal session (payment methods, invoices,
// cancellation) for the workspace's customer. Billing off: 400
// billing_disabled; no customer yet: 400 billing_no_customer.
func (a *API) openPortal(c *gin.Context) error {
	p, ws, _, err := a.workspace(c, RoleOwner)
	if err != nil {
		return err
	}
	var body portalBody
	if err := bindOptionalJSON(c, &body); err != nil {
		return err
	}
	b := a.o.Billing
	if b == nil || !b.Enabled() {
		return billing.ErrDisabled
	}
	ret, err := a.returnURL(body.ReturnURL, a.billingPage(ws))
	if err != nil {
		return err
	}
	u, err := b.Portal(c, ws, ret)
	if err != nil {
		return err
	}
	if err := a.st.writeAudit(c, nil, p, info(c), audit{Workspace: ws, Action: "billing.portal", TargetType: "workspace", TargetID: ws.String()}); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"url": u})
	return nil
}

// billingPage is the dashboard URL of the workspace's Billing page.
func (a *API) billingPage(ws uuid.UUID) string {
	return strings.TrimSuffix(a.o.DashboardURL, "/") + "/workspaces/" + ws.String() + "/billing"
}

// returnURL is v, which must be an absolute URL on the dashboard's origin
// (Stripe sends the browser there), or def when v is empty.
func (a *API) returnURL(v, def string) (string, error) {
	if v == "" {
		return def, nil
	}
	u, err := url.Parse(v)
	if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && u.Scheme+"://"+u.Host == a.origin {
		return v, nil
	}
	return "", errx.Newf(errx.Invalid, "Return URLs must be absolute URLs on the dashboard (%s).", a.origin).WithID("billing_bad_return_url")
}

// bindOptionalJSON is httpx.BindJSON (strict) for a body that may be
// absent: no body, or only white space, leaves v as it is.
func bindOptionalJSON(c *gin.Context, v any) error {
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errx.New(errx.TooLarge, "The request body exceeds the configured limit.")
		}
		return errx.New(errx.Invalid, "The request body could not be read.").Wrap(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(raw))
	return httpx.BindJSON(c, v, true)
}

package billing

import (
	"fmt"

	"github.com/lanyard-id/lanyard/internal/config"
)

// Plan names of the default set.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanEnterprise = "enterprise"
)

// Plan is one billing plan (see config.PlanConfig). A zero limit means
// unlimited.
type Plan = config.PlanConfig

// DefaultPlans is the documented default set: Free (capped, no custom
// domain), Pro (base price plus MAU overage through the metered price,
// price ids from the configuration) and Enterprise (assigned by an
// operator, no limits).
func DefaultPlans(cfg config.Config) []Plan {
	return []Plan{
		{Name: PlanFree, Title: "Free", IncludedMAU: 10000, HardMAUCap: true, ProjectLimit: 2,
			Features: config.PlanFeatures{Hooks: 2, AuditRetentionDays: 7}},
		{Name: PlanPro, Title: "Pro", StripePriceID: cfg.StripeProPriceID, StripeMeteredPriceID: cfg.StripeProMeteredPriceID,
			IncludedMAU: 25000, ProjectLimit: 20, MonthlyPriceCents: 2500, OverageCentsPer1000: 500,
			Features: config.PlanFeatures{CustomDomains: true, Hooks: 25, JSActions: true, SMTP: true, AuditRetentionDays: 90}},
		{Name: PlanEnterprise, Title: "Enterprise",
			Features: config.PlanFeatures{CustomDomains: true, JSActions: true, SMTP: true, AuditRetentionDays: 365}},
	}
}

// Plans is the configured plan set.
type Plans struct {
	list    []Plan
	byName  map[string]*Plan
	byPrice map[string]*Plan
	def     *Plan
}

// NewPlans validates the configured plans (the default set when none are
// configured) and the default plan name.
func NewPlans(cfg config.Config) (*Plans, error) {
	list := cfg.BillingPlans
	if len(list) == 0 {
		list = DefaultPlans(cfg)
	}
	ps := &Plans{list: list, byName: map[string]*Plan{}, byPrice: map[string]*Plan{}}
	for i := range ps.list {
		p := &ps.list[i]
		if p.Name == "" {
			return nil, fmt.Errorf("billing: plan %d has no name", i+1)
		}
		if _, dup := ps.byName[p.Name]; dup {
			return nil, fmt.Errorf("billing: plan %q is defined twice", p.Name)
		}
		if p.IncludedMAU < 0 || p.ProjectLimit < 0 {
			return nil, fmt.Errorf("billing: plan %q has a negative limit", p.Name)
		}
		if p.Title == "" {
			p.Title = p.Name
		}
		ps.byName[p.Name] = p
		if p.StripePriceID != "" {
			if _, dup := ps.byPrice[p.StripePriceID]; dup {
				return nil, fmt.Errorf("billing: price %q belongs to two plans", p.StripePriceID)
			}
			ps.byPrice[p.StripePriceID] = p
		}
	}
	def, ok := ps.byName[cfg.BillingDefaultPlan]
	if !ok {
		return nil, fmt.Errorf("billing: LANYARD_BILLING_DEFAULT_PLAN %q is not a configured plan", cfg.BillingDefaultPlan)
	}
	ps.def = def
	return ps, nil
}

// Default is the plan of a workspace without a paid subscription.
func (ps *Plans) Default() Plan { return *ps.def }

// ByName returns the named plan.
func (ps *Plans) ByName(name string) (Plan, bool) {
	p, ok := ps.byName[name]
	if !ok {
		return Plan{}, false
	}
	return *p, true
}

// ByPrice returns the plan whose base price is id.
func (ps *Plans) ByPrice(id string) (Plan, bool) {
	p, ok := ps.byPrice[id]
	if !ok {
		return Plan{}, false
	}
	return *p, true
}

// List returns every plan in configuration order.
func (ps *Plans) List() []Plan { return append([]Plan(nil), ps.list...) }

// OverageCents is what mau monthly active users cost on top of the plan's
// base price: each started thousand past the included MAU at the plan's
// overage price (0 on plans without overage).
func OverageCents(p Plan, mau int64) int64 {
	if p.OverageCentsPer1000 <= 0 || p.IncludedMAU <= 0 || mau <= p.IncludedMAU {
		return 0
	}
	over := mau - p.IncludedMAU
	return (over + 999) / 1000 * p.OverageCentsPer1000
}

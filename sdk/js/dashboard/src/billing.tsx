// Billing: the workspace's plan, this period's monthly active users per
// project, the daily usage chart, and the way to Stripe Checkout and the
// customer portal.
import { useState } from "react";
import { ApiError, call, can, type Billing, type Plan, type Usage } from "./api.js";
import { useLocation, useTitle } from "./router.js";
import { useShell } from "./shell.js";
import { Empty, ErrorText, Loading, Notice, PageHeader, When, useAction, useLoad } from "./ui.js";

function money(cents: number, currency: string) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: (currency || "usd").toUpperCase() }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

const num = new Intl.NumberFormat();

/** featureWords says what a plan's features are, in words. */
export function featureWords(f: Plan["features"]): string[] {
  if (!f) return [];
  if (Array.isArray(f)) return f.map(String);
  const out: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    if (v === false || v === 0 || v === null || v === "") continue;
    switch (k) {
      case "custom_domains":
        out.push("Custom domains");
        break;
      case "js_actions":
        out.push("JavaScript actions");
        break;
      case "smtp":
        out.push("Your own SMTP server");
        break;
      case "hooks":
        out.push(`${num.format(Number(v))} hooks`);
        break;
      case "audit_retention_days":
        out.push(`${num.format(Number(v))} days of audit log`);
        break;
      default:
        out.push(v === true ? k.replace(/_/g, " ") : `${k.replace(/_/g, " ")}: ${v}`);
    }
  }
  return out;
}

function monthOf(d: Date) {
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

export function BillingPage({ ws }: { ws: string }) {
  useTitle("Billing");
  const { role } = useShell();
  const billing = useLoad(() => call<Billing>("GET", `/api/v1/workspaces/${ws}/billing`), [ws]);
  const act = useAction();
  const { query } = useLocation();
  const here = `${location.origin}/w/${ws}/billing`;
  const go = async (path: string, body: object) => {
    const res = await act.run(() => call<{ url: string }>("POST", `/api/v1/workspaces/${ws}/billing/${path}`, body));
    if (res?.url) location.assign(res.url);
  };
  const notThere = billing.error instanceof ApiError && billing.error.status === 404 && billing.error.id !== "workspace_not_found";
  if (billing.loading && !billing.data) {
    return (
      <>
        <PageHeader title="Billing" />
        <Loading what="Loading billing" />
      </>
    );
  }
  const b = billing.data;
  if (notThere || (b && !b.enabled)) {
    return (
      <>
        <PageHeader title="Billing" />
        <section className="panel" data-testid="billing-disabled">
          <p>
            <strong>Billing is disabled on this installation.</strong>
          </p>
          <p className="muted">Every workspace is on the {b?.plan?.title ?? "free"} plan: there are no charges, and the limits are those the server sets.</p>
          {b && <MAU billing={b} />}
        </section>
        {b && <UsageChart ws={ws} />}
      </>
    );
  }
  if (!b) {
    return (
      <>
        <PageHeader title="Billing" />
        <ErrorText error={billing.error} onRetry={billing.reload} />
      </>
    );
  }
  const admin = can.admin(role);
  const p = b.plan;
  return (
    <>
      <PageHeader title="Billing" />
      {query.get("checkout") === "done" && <Notice>Thank you. The plan changes as soon as Stripe confirms the payment.</Notice>}
      <ErrorText error={act.error} />
      <section className="panel" data-testid="billing-plan">
        <div className="panel-head">
          <h2>
            {p.title} plan {priceOf(p, b.currency) !== "Free" && <span className="muted small">{priceOf(p, b.currency)}</span>}
          </h2>
          {admin && b.customer_portal && (
            <button type="button" className="btn" onClick={() => go("portal", { return_url: here })} disabled={act.busy}>
              Manage payment and invoices
            </button>
          )}
        </div>
        <dl className="kv">
          <dt>Status</dt>
          <dd>{b.subscription_status ? b.subscription_status.replace(/_/g, " ") : "No subscription"}</dd>
          <dt>Period</dt>
          <dd>
            <When at={b.period.start} /> – <When at={b.period.end} />
          </dd>
          {b.grace_until && (
            <>
              <dt>Payment due by</dt>
              <dd className="warn">
                <When at={b.grace_until} />
              </dd>
            </>
          )}
          <dt>Projected overage</dt>
          <dd>{money(b.projected_overage_cents, b.currency)}</dd>
        </dl>
        <MAU billing={b} />
      </section>
      <UsageChart ws={ws} />
      {b.plans.length > 0 && (
        <section className="panel">
          <h2>Plans</h2>
          <div className="plans">
            {b.plans.map((x) => (
              <PlanCard key={x.name} plan={x} current={x.name === p.name} currency={b.currency} onChoose={admin && x.name !== p.name && x.monthly_price_cents > 0 ? () => go("checkout", { plan: x.name, success_url: `${here}?checkout=done`, cancel_url: here }) : undefined} busy={act.busy} />
            ))}
          </div>
        </section>
      )}
    </>
  );
}

function MAU({ billing: b }: { billing: Billing }) {
  const included = b.plan?.included_mau ?? 0;
  const pct = included > 0 ? Math.min(100, (b.mau.total / included) * 100) : 0;
  return (
    <>
      <h3>Monthly active users</h3>
      <p>
        <strong>{num.format(b.mau.total)}</strong>
        {included > 0 && <span className="muted"> of {num.format(included)} included</span>}
      </p>
      {included > 0 && (
        <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={included} aria-valuenow={b.mau.total} aria-label="Monthly active users">
          <div style={{ width: `${pct}%` }} className={pct >= 100 ? "over" : undefined} />
        </div>
      )}
      {b.mau.projects.length === 0 ? (
        <Empty>No active users this period.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col" className="num">
                  Active users
                </th>
              </tr>
            </thead>
            <tbody>
              {b.mau.projects.map((x) => (
                <tr key={x.project_id}>
                  <td>{x.name || x.slug}</td>
                  <td className="num">{num.format(x.mau)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** A plan without a price and without an allowance is sold by contract (Enterprise). */
const byContract = (p: Plan) => p.monthly_price_cents === 0 && p.included_mau === 0;

function priceOf(p: Plan, currency: string) {
  if (p.monthly_price_cents > 0) return `${money(p.monthly_price_cents, currency)} / month`;
  return byContract(p) ? "Custom pricing" : "Free";
}

function PlanCard({ plan, current, currency, onChoose, busy }: { plan: Plan; current: boolean; currency: string; onChoose?: () => void; busy: boolean }) {
  return (
    <div className={`plan${current ? " plan-current" : ""}`}>
      <h3>{plan.title}</h3>
      <p className="price">{priceOf(plan, currency)}</p>
      <ul>
        <li>{plan.included_mau > 0 ? `${num.format(plan.included_mau)} monthly active users${plan.hard_mau_cap ? " (a hard limit)" : ""}` : "Unlimited monthly active users"}</li>
        <li>{plan.project_limit > 0 ? `${num.format(plan.project_limit)} projects` : "Unlimited projects"}</li>
        {plan.overage_cents_per_1000 > 0 && <li>{money(plan.overage_cents_per_1000, currency)} per 1,000 more</li>}
        {featureWords(plan.features).map((f) => (
          <li key={f}>{f}</li>
        ))}
      </ul>
      {current ? (
        <p className="muted">Current plan</p>
      ) : byContract(plan) ? (
        <p className="muted">Contact sales</p>
      ) : plan.monthly_price_cents === 0 ? (
        <p className="muted">Cancel the subscription in the customer portal</p>
      ) : (
        onChoose && (
          <button type="button" className="btn btn-primary" onClick={onChoose} disabled={busy}>
            Switch to {plan.title}
          </button>
        )
      )}
    </div>
  );
}

function UsageChart({ ws }: { ws: string }) {
  const [month, setMonth] = useState(() => monthOf(new Date()));
  const usage = useLoad(() => call<Usage>("GET", `/api/v1/workspaces/${ws}/billing/usage?month=${month}`), [ws, month]);
  const months = [0, 1, 2, 3, 4, 5].map((i) => {
    const d = new Date();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() - i);
    return monthOf(d);
  });
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>Daily usage</h2>
        <label className="field inline">
          <span>Month</span>
          <select value={month} onChange={(e) => setMonth(e.target.value)}>
            {months.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
      </div>
      {usage.error instanceof ApiError && usage.error.status === 404 ? (
        <Empty>Usage figures are not available on this installation.</Empty>
      ) : (
        <ErrorText error={usage.error} onRetry={usage.reload} />
      )}
      {usage.loading && !usage.data && <Loading what="Loading usage" />}
      {usage.data && <Chart days={usage.data.days} />}
    </section>
  );
}

/** niceMax rounds a chart's top up to twice a step of 1, 2 or 5 × 10^k, so the three grid lines read as whole numbers. */
function niceMax(v: number): number {
  const half = Math.max(1, v / 2);
  const p = 10 ** Math.floor(Math.log10(half));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= half) ?? half;
  return 2 * step;
}

/** ChartLabels name the chart's series: bars (each day's `active`) and a line (each day's `mau`), and the whole for screen readers. */
export type ChartLabels = { bar: string; line: string; summary: (last: number) => string };
const mauLabels: ChartLabels = {
  bar: "daily active users",
  line: "monthly active users so far",
  summary: (last) => `Daily active users; ${last} monthly active users by the last day`,
};

/** Chart draws each day's `active` as a bar and its `mau` as a line (by default daily active users and the month's running MAU). */
export function Chart({ days, labels = mauLabels }: { days: Pick<Usage["days"][number], "date" | "active" | "mau">[]; labels?: ChartLabels }) {
  if (days.length === 0) return <Empty>No usage in this month.</Empty>;
  const W = 640;
  const H = 180;
  const pad = { l: 36, r: 8, t: 10, b: 22 };
  const max = niceMax(Math.max(...days.map((d) => Math.max(d.active, d.mau))));
  const bw = (W - pad.l - pad.r) / days.length;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const line = days.map((d, i) => `${i ? "L" : "M"}${(pad.l + bw * i + bw / 2).toFixed(1)},${y(d.mau).toFixed(1)}`).join(" ");
  const total = days[days.length - 1]?.mau ?? 0;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={labels.summary(total)}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={pad.l} x2={W - pad.r} y1={y(max * f)} y2={y(max * f)} className="grid" />
            <text x={pad.l - 4} y={y(max * f) + 4} textAnchor="end" className="axis">
              {num.format(max * f)}
            </text>
          </g>
        ))}
        {days.map((d, i) => (
          <rect key={d.date} x={pad.l + bw * i + 1} width={Math.max(1, bw - 2)} y={y(d.active)} height={H - pad.b - y(d.active)} className="bar">
            <title>{labels === mauLabels ? `${d.date}: ${d.active} active, ${d.mau} this month` : `${d.date}: ${d.active} ${labels.bar}, ${d.mau} ${labels.line}`}</title>
          </rect>
        ))}
        <path d={line} className="line" fill="none" />
        {days.map((d, i) =>
          i % 5 === 0 ? (
            <text key={d.date} x={pad.l + bw * i + bw / 2} y={H - 6} textAnchor="middle" className="axis">
              {d.date.slice(8)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption className="legend">
        <span className="key key-bar" /> {labels.bar} <span className="key key-line" /> {labels.line}
      </figcaption>
    </figure>
  );
}

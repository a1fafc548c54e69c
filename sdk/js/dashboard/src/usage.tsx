// The project overview's usage chart: daily sign-ups and daily active
// users of one project in a calendar month, drawn with the Billing page's
// chart.
import { useState } from "react";
import { api, must, type Project } from "./api.js";
import { Chart, type ChartLabels } from "./billing.js";
import { ErrorText, Loading, useLoad } from "./ui.js";

function monthOf(d: Date) {
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

const labels: ChartLabels = {
  bar: "daily active users",
  line: "daily sign-ups",
  summary: () => "Daily active users (bars) and daily sign-ups (line) of the project",
};

/** ProjectUsage shows a month of the project's sign-ups and active users. */
export function ProjectUsage({ project }: { project: Project }) {
  const [month, setMonth] = useState(() => monthOf(new Date()));
  const usage = useLoad(() => must(api.GET("/api/v1/projects/{project}/usage", { params: { path: { project: project.id }, query: { month } } })), [project.id, month]);
  const months = [0, 1, 2, 3, 4, 5].map((i) => {
    const d = new Date();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() - i);
    return monthOf(d);
  });
  const days = (usage.data?.days ?? []).map((d) => ({ date: d.date, active: d.active, mau: d.signups }));
  const signups = days.reduce((n, d) => n + d.mau, 0);
  return (
    <section className="panel" data-testid="project-usage">
      <div className="panel-head">
        <h2>Usage</h2>
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
      <ErrorText error={usage.error} onRetry={usage.reload} />
      {usage.loading && !usage.data && <Loading what="Loading usage" />}
      {usage.data && (
        <>
          <Chart days={days} labels={labels} />
          <p className="muted small">
            {signups} sign-ups in {usage.data.month}.
          </p>
        </>
      )}
    </section>
  );
}

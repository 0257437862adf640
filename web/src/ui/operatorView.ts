/** The operator page's view: the status line, the error, the figures, the chart, the tables. */
import type { OperatorPageState } from "../app/operatorPage";
import {
  chartData,
  formatCount,
  formatDay,
  formatMinutes,
  formatUsd,
  planTotals,
  refusalRows,
  summaryOf,
  topUserRows,
} from "../app/usageReport";
import type { OperatorUsageResponse } from "voice-contract";
import { byId, setHidden } from "./dom";
import { planColor } from "./planColors";
import type { UsageChart } from "./usageChart";

const STATUS_TEXT: Record<Exclude<OperatorPageState["status"], "shown">, string> = {
  "signing-in": "Signing in…",
  loading: "Reading the usage…",
  failed: "The usage could not be shown.",
};

/** Renders {@link OperatorPageState} into operator.html. */
export class OperatorView {
  readonly #chart: UsageChart;
  readonly #els = {
    state: byId("operator-state", HTMLParagraphElement),
    refresh: byId("operator-refresh", HTMLButtonElement),
    error: byId("operator-error", HTMLDivElement),
    errorMessage: byId("operator-error-message", HTMLParagraphElement),
    usage: byId("operator-usage", HTMLDivElement),
    legend: byId("usage-legend", HTMLUListElement),
    daysHead: byId("usage-days-head", HTMLTableRowElement),
    days: byId("usage-days", HTMLTableElement),
    topUsers: byId("top-users", HTMLTableElement),
    topUsersEmpty: byId("top-users-empty", HTMLParagraphElement),
    refusals: byId("refusals", HTMLTableElement),
    refusalsEmpty: byId("refusals-empty", HTMLParagraphElement),
  };

  constructor(chart: UsageChart) {
    this.#chart = chart;
  }

  /** `onRefresh` runs on a press of Refresh. */
  listen(onRefresh: () => void): void {
    this.#els.refresh.addEventListener("click", onRefresh);
  }

  render(state: OperatorPageState): void {
    const els = this.#els;
    els.state.dataset.status = state.status;
    els.refresh.disabled = state.status === "signing-in" || state.status === "loading";
    if (state.status === "failed") {
      els.error.dataset.kind = state.error.kind;
      els.errorMessage.textContent = state.error.message;
    }
    setHidden(els.error, state.status !== "failed");
    if (state.status === "shown") {
      const time = new Date(state.usage.generatedAtMs).toISOString().slice(11, 16);
      els.state.textContent = `Read at ${time} UTC.`;
      setHidden(els.usage, false);
      this.#show(state.usage);
      return;
    }
    els.state.textContent = STATUS_TEXT[state.status];
    // A failure hides the last figures: they may be someone else's view (another user signed in).
    if (state.status === "failed" || state.status === "signing-in") setHidden(els.usage, true);
  }

  #show(usage: OperatorUsageResponse): void {
    const els = this.#els;
    const summary = summaryOf(usage);
    const text = (id: string, value: string) => (byId(id, HTMLElement).textContent = value);
    text("range-days", String(summary.rangeDays));
    text("range-minutes", formatMinutes(summary.range.usedSeconds));
    text("range-refunded", formatMinutes(summary.range.refundedSeconds));
    text("range-calls", formatCount(summary.range.calls));
    text("range-refusals", formatCount(summary.refusals));
    text("range-cost", formatUsd(summary.range.estimatedCostUsd));
    text("today-minutes", formatMinutes(summary.today.usedSeconds));
    text("today-calls", formatCount(summary.today.calls));
    text("today-cost", formatUsd(summary.today.estimatedCostUsd));

    const data = chartData(usage.days);
    this.#chart.show(data);
    els.legend.replaceChildren(
      ...planTotals(usage.days).map(({ plan, totals }, index) => {
        const item = element("li", "", { plan });
        const swatch = element("span", "", {}, "legend-swatch");
        swatch.style.setProperty("--swatch", planColor(index));
        item.append(
          swatch,
          element("span", plan),
          element("span", formatMinutes(totals.usedSeconds), {}, "legend-minutes"),
        );
        return item;
      }),
    );

    els.daysHead.replaceChildren(
      header("Day"),
      ...data.plans.map((plan) => header(plan, "number")),
      header("Total", "number"),
    );
    body(els.days).replaceChildren(
      ...usage.days.map((day) => {
        const seconds = data.plans.map((plan) => day.byPlan[plan]?.usedSeconds ?? 0);
        return row({ day: day.day }, [
          [formatDay(day.day), ""],
          ...seconds.map((s): Cell => [formatMinutes(s), "number"]),
          [formatMinutes(seconds.reduce((a, b) => a + b, 0)), "number"],
        ]);
      }),
    );

    const users = topUserRows(usage);
    body(els.topUsers).replaceChildren(
      ...users.map((user) =>
        row({ uid: user.uid }, [
          [user.who, "who"],
          [user.plan, ""],
          [user.calls, "number"],
          [user.minutes, "number"],
        ]),
      ),
    );
    setHidden(els.topUsers, users.length === 0);
    setHidden(els.topUsersEmpty, users.length > 0);

    const refusals = refusalRows(usage);
    body(els.refusals).replaceChildren(
      ...refusals.map((refusal) =>
        row({ reason: refusal.reason }, [
          [refusal.reason, "code"],
          [refusal.count, "number"],
        ]),
      ),
    );
    setHidden(els.refusals, refusals.length === 0);
    setHidden(els.refusalsEmpty, refusals.length > 0);
  }
}

/** A cell's text and class (`code` puts the text in a `<code>`). */
type Cell = [text: string, kind: "" | "number" | "who" | "code"];

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string,
  data: Record<string, string> = {},
  className = "",
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (text) el.textContent = text;
  if (className) el.className = className;
  Object.assign(el.dataset, data);
  return el;
}

function header(text: string, className = ""): HTMLTableCellElement {
  const th = element("th", text, {}, className);
  th.scope = "col";
  return th;
}

function row(data: Record<string, string>, cells: Cell[]): HTMLTableRowElement {
  const tr = element("tr", "", data);
  for (const [text, kind] of cells) {
    const td = element("td", kind === "code" ? "" : text, {}, kind === "code" ? "" : kind);
    if (kind === "code") td.append(element("code", text));
    tr.append(td);
  }
  return tr;
}

function body(table: HTMLTableElement): HTMLTableSectionElement {
  const found = table.tBodies[0];
  if (!found) throw new Error(`operator.html's #${table.id} has no <tbody>.`);
  return found;
}

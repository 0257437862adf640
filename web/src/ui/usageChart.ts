/*
 * The operator page's chart: minutes per day, one stacked bar per day, a colour per plan
 * (uPlot, which only the operator page loads). The numbers come from app/usageReport.ts.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatDay, type ChartData } from "../app/usageReport";
import { planColor } from "./planColors";

const HEIGHT = 260;

/** A uPlot chart in `container` that follows the container's width. */
export class UsageChart {
  readonly #container: HTMLElement;
  #plot: uPlot | null = null;
  #data: ChartData | null = null;
  readonly #resize = new ResizeObserver(() => this.#fit());
  // The axes' colours are the page's, read when drawn: a change of scheme draws again.
  readonly #scheme = matchMedia("(prefers-color-scheme: dark)");
  readonly #redraw = () => {
    if (this.#data) this.show(this.#data);
  };

  constructor(container: HTMLElement) {
    this.#container = container;
    this.#resize.observe(container);
    this.#scheme.addEventListener("change", this.#redraw);
  }

  /** Draws `data`, replacing what was drawn. */
  show(data: ChartData): void {
    this.#data = data;
    this.#plot?.destroy();
    const style = getComputedStyle(this.#container);
    const muted = style.getPropertyValue("--muted").trim() || "#5d6478";
    const grid = style.getPropertyValue("--border").trim() || "#e2e5ef";
    const bars = uPlot.paths.bars?.({ size: [0.75, 48], align: 0 });
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { show: false } };
    // Each bar is drawn from zero to its plan's top edge, the highest first, so each lower plan
    // paints over the part of the bar that is its own: a stack without uPlot's band plugin.
    const order = data.plans.map((_, p) => p).reverse();
    const options: uPlot.Options = {
      width: this.#width(),
      height: HEIGHT,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, range: [-0.5, Math.max(data.days.length - 0.5, 0.5)] },
        y: { range: (_u, _min, max) => [0, max > 0 ? niceCeiling(max * 1.05) : 10] },
      },
      axes: [
        {
          ...axis,
          space: 56,
          grid: { show: false },
          values: (_u, splits) =>
            splits.map((i) => (Number.isInteger(i) ? formatDay(data.days[i] ?? "") : "")),
        },
        { ...axis, label: "Minutes", size: 48, values: (_u, splits) => splits.map(String) },
      ],
      series: [
        {},
        ...order.map((p) => ({
          label: data.plans[p] ?? "",
          fill: planColor(p),
          stroke: planColor(p),
          width: 0,
          ...(bars ? { paths: bars } : {}),
          points: { show: false },
        })),
      ],
    };
    const xs = data.days.map((_, d) => d);
    const series = order.map((p) => data.stacked[p] ?? []);
    this.#plot = new uPlot(options, [xs, ...series], this.#container);
  }

  /** Removes the chart and stops following the container (idempotent). */
  dispose(): void {
    this.#resize.disconnect();
    this.#scheme.removeEventListener("change", this.#redraw);
    this.#data = null;
    this.#plot?.destroy();
    this.#plot = null;
  }

  #width(): number {
    return Math.max(Math.floor(this.#container.clientWidth), 120);
  }

  #fit(): void {
    const width = this.#width();
    if (this.#plot && this.#plot.width !== width) this.#plot.setSize({ width, height: HEIGHT });
  }
}

/** The smallest of 1, 2, 5 × 10ⁿ at or above `value`: a y-axis top with round ticks. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * power >= value) ?? 10;
  return step * power;
}

/*
 * The cost estimate beside the token counts: this call's and every call's on this page,
 * priced from each `response.done`'s usage with the dated table in `realtime/prices.ts`.
 * Loaded with the session code (`live.ts`), not at first paint.
 */
import {
  addCost,
  costFigure,
  formatCost,
  NO_COST,
  priceLiveSeconds,
  priceResponse,
  type CostFigure,
  type CostTotals,
} from "../realtime";

/** What a cost cell shows, and the `data-*` an end-to-end test reads. */
export interface CostText {
  text: string;
  /** The {@link CostFigure}'s kind. */
  kind: CostFigure["kind"];
  /** Nano-dollars behind the figure; null when there is no money figure. */
  nanoUsd: number | null;
}

/**
 * `≈ $0.07`, `≥ $0.07` when some responses could not be priced, or words instead of money:
 * "–" before the first response, "no price for <model>" when the table does not know the
 * model (never another model's price).
 */
export function costText(totals: CostTotals, model: string | null): CostText {
  const figure = costFigure(totals);
  switch (figure.kind) {
    case "none":
      return { text: "–", kind: figure.kind, nanoUsd: null };
    case "unknown":
      return {
        text: model ? `no price for ${model}` : "no price known",
        kind: figure.kind,
        nanoUsd: null,
      };
    case "estimate":
    case "at-least":
      return { text: formatCost(figure) ?? "–", kind: figure.kind, nanoUsd: figure.nanoUsd };
  }
}

/** Keeps the call's and the page's totals and renders them into two elements. */
export class CostView {
  readonly #call: HTMLElement;
  readonly #page: HTMLElement;
  #callTotals: CostTotals = NO_COST;
  /** The page's total before this call: a Live call's figure replaces itself, never adds up. */
  #pageBefore: CostTotals = NO_COST;
  #model: string | null = null;

  constructor(call: HTMLElement, page: HTMLElement) {
    this.#call = call;
    this.#page = page;
  }

  /** A new call: its total starts at nothing; the page's carries on. */
  startCall(model: string | null): void {
    this.#pageBefore = this.#pageTotals;
    this.#callTotals = NO_COST;
    this.#model = model;
    this.#render();
  }

  /** The model the session reported (`session.created`), which the table is keyed by. */
  setModel(model: string): void {
    this.#model = model;
  }

  /** Adds one `response.done`'s `response.usage`. */
  addResponse(usage: unknown): void {
    const cost = this.#model
      ? priceResponse(usage, this.#model)
      : ({ kind: "unknown-model", model: "" } as const);
    this.#callTotals = addCost(this.#callTotals, cost);
    this.#render();
  }

  /**
   * A Live call's cumulative billed seconds (`session.usage.updated`): the call's figure is
   * their price, replacing the last one.
   */
  setLiveSeconds(seconds: number): void {
    const cost = this.#model
      ? priceLiveSeconds(seconds, this.#model)
      : ({ kind: "unknown-model", model: "" } as const);
    this.#callTotals = addCost(NO_COST, cost);
    this.#render();
  }

  get #pageTotals(): CostTotals {
    const call = this.#callTotals;
    return {
      nanoUsd: this.#pageBefore.nanoUsd + call.nanoUsd,
      priced: this.#pageBefore.priced + call.priced,
      unpriced: this.#pageBefore.unpriced + call.unpriced,
    };
  }

  #render(): void {
    for (const [element, totals] of [
      [this.#call, this.#callTotals],
      [this.#page, this.#pageTotals],
    ] as const) {
      const shown = costText(totals, this.#model);
      element.textContent = shown.text;
      element.dataset.kind = shown.kind;
      element.dataset.nanoUsd = shown.nanoUsd === null ? "" : String(shown.nanoUsd);
    }
  }
}

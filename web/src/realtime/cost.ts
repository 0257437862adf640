/**
 * What a conversation costs, estimated from each `response.done`'s `usage` and the price
 * table in `prices.ts`. Pure.
 *
 * Money is counted in integer nano-dollars (1e-9 USD): prices are whole tenths of a cent per
 * 1M tokens, so tokens × price is exact and sums do not drift.
 *
 * Each response is billed on its own, and the whole conversation so far is input again on
 * every turn (much of it cached). Input transcription is billed separately and is not here.
 */
import type { RealtimeResponseUsage } from "openai/resources/realtime/realtime";
import { isRecord } from "./errors";
import {
  LIVE_PRICES,
  livePricesFor,
  pricesFor,
  REALTIME_PRICES,
  type LiveMinutePrices,
  type TokenPrices,
} from "./prices";

/** Token counts of one response, split the way prices are. */
export interface PricedTokens {
  textIn: number;
  cachedTextIn: number;
  audioIn: number;
  cachedAudioIn: number;
  textOut: number;
  audioOut: number;
}

/** The estimate for one response. */
export type ResponseCost =
  | { kind: "priced"; model: string; nanoUsd: number; tokens: PricedTokens }
  /** The table has no prices for this model: no figure rather than a wrong one. */
  | { kind: "unknown-model"; model: string }
  /** The usage was missing or could not be split into priced kinds; `reason` says why. */
  | { kind: "unusable-usage"; model: string; reason: string };

/** Sums over responses (one call, or a whole session across calls). */
export interface CostTotals {
  nanoUsd: number;
  /** Responses included in `nanoUsd`. */
  priced: number;
  /** Responses that could not be priced (unknown model or unusable usage). */
  unpriced: number;
}

/** Totals before the first response. */
export const NO_COST: CostTotals = { nanoUsd: 0, priced: 0, unpriced: 0 };

/** What can honestly be said about a total. */
export type CostFigure =
  /** No response yet. */
  | { kind: "none" }
  /** Every response was priced. */
  | { kind: "estimate"; nanoUsd: number }
  /** Some responses were not priced: the real cost is at least this. */
  | { kind: "at-least"; nanoUsd: number }
  /** No response could be priced. */
  | { kind: "unknown" };

const PER_MILLION_IN_MILLIDOLLARS = 1000;

/**
 * Prices one `response.done`'s `response.usage` (a {@link RealtimeResponseUsage}, read
 * defensively since it comes off the wire) for `model`.
 */
export function priceResponse(
  usage: unknown,
  model: string,
  table: Readonly<Record<string, Readonly<TokenPrices>>> = REALTIME_PRICES,
): ResponseCost {
  const prices = pricesFor(model, table);
  if (!prices) return { kind: "unknown-model", model };
  const split = splitUsage(usage);
  if (!split.ok) return { kind: "unusable-usage", model, reason: split.reason };
  return { kind: "priced", model, nanoUsd: costOf(split.tokens, prices), tokens: split.tokens };
}

/** Tokens × prices, in nano-dollars. */
export function costOf(tokens: PricedTokens, prices: Readonly<TokenPrices>): number {
  let nanoUsd = 0;
  for (const key of Object.keys(tokens) as (keyof PricedTokens)[]) {
    // Price per 1M tokens in milli-dollars is nano-dollars per token.
    nanoUsd += tokens[key] * Math.round(prices[key] * PER_MILLION_IN_MILLIDOLLARS);
  }
  return nanoUsd;
}

/** Adds one response's estimate to a total. */
export function addCost(totals: CostTotals, cost: ResponseCost): CostTotals {
  return cost.kind === "priced"
    ? { ...totals, nanoUsd: totals.nanoUsd + cost.nanoUsd, priced: totals.priced + 1 }
    : { ...totals, unpriced: totals.unpriced + 1 };
}

/** What a total supports saying. */
export function costFigure(totals: CostTotals): CostFigure {
  if (totals.unpriced === 0) {
    return totals.priced === 0 ? { kind: "none" } : { kind: "estimate", nanoUsd: totals.nanoUsd };
  }
  return totals.priced === 0 ? { kind: "unknown" } : { kind: "at-least", nanoUsd: totals.nanoUsd };
}

/**
 * `≈ $0.07`, `≥ $0.07` (some responses unpriced), `≈ < $0.01` for a non-zero amount that
 * rounds to nothing; null when there is no figure to show. Rounds half up to the cent.
 */
export function formatCost(figure: CostFigure): string | null {
  if (figure.kind === "none" || figure.kind === "unknown") return null;
  const sign = figure.kind === "estimate" ? "≈" : "≥";
  const cents = Math.round(figure.nanoUsd / 10_000_000);
  if (cents === 0 && figure.nanoUsd > 0) return `${sign} < $0.01`;
  return `${sign} $${(cents / 100).toFixed(2)}`;
}

type Split = { ok: true; tokens: PricedTokens } | { ok: false; reason: string };

/**
 * Splits usage into the priced kinds. `text_tokens` and `audio_tokens` include their cached
 * part, which `cached_tokens_details` breaks down; without that breakdown the split is only
 * known when one kind has no input at all.
 */
function splitUsage(usage: unknown): Split {
  if (!isRecord(usage)) return { ok: false, reason: "the response carried no usage" };
  const u = usage as Record<keyof RealtimeResponseUsage, unknown>;
  const input = u.input_token_details ?? {};
  const output = u.output_token_details ?? {};
  if (!isRecord(input) || !isRecord(output)) {
    return { ok: false, reason: "token details are not objects" };
  }
  const counts = {
    textIn: count(input.text_tokens),
    audioIn: count(input.audio_tokens),
    imageIn: count(input.image_tokens),
    cached: count(input.cached_tokens),
    textOut: count(output.text_tokens),
    audioOut: count(output.audio_tokens),
  };
  for (const [name, value] of Object.entries(counts)) {
    if (value === null) return { ok: false, reason: `${name} is not a non-negative integer` };
  }
  const c = counts as { [K in keyof typeof counts]: number };
  if (c.imageIn > 0) return { ok: false, reason: "image input has no price in the table" };
  // The totals are optional, but when present the details must add up to them.
  if (!totalMatches(u.input_tokens, c.textIn + c.audioIn)) {
    return { ok: false, reason: "input_tokens is not text_tokens + audio_tokens" };
  }
  if (!totalMatches(u.output_tokens, c.textOut + c.audioOut)) {
    return { ok: false, reason: "output_tokens is not text_tokens + audio_tokens" };
  }

  const cachedSplit = splitCached(input.cached_tokens_details, c.cached, c.textIn, c.audioIn);
  if (!cachedSplit.ok) return cachedSplit;
  const { text: cachedText, audio: cachedAudio } = cachedSplit;
  if (cachedText > c.textIn || cachedAudio > c.audioIn) {
    return { ok: false, reason: "more cached tokens than input tokens" };
  }
  return {
    ok: true,
    tokens: {
      textIn: c.textIn - cachedText,
      cachedTextIn: cachedText,
      audioIn: c.audioIn - cachedAudio,
      cachedAudioIn: cachedAudio,
      textOut: c.textOut,
      audioOut: c.audioOut,
    },
  };
}

function splitCached(
  details: unknown,
  cached: number,
  textIn: number,
  audioIn: number,
): { ok: true; text: number; audio: number } | { ok: false; reason: string } {
  if (isRecord(details)) {
    const text = count(details.text_tokens);
    const audio = count(details.audio_tokens);
    const image = count(details.image_tokens);
    if (text === null || audio === null || image === null) {
      return { ok: false, reason: "cached_tokens_details holds a bad count" };
    }
    if (image > 0) return { ok: false, reason: "image input has no price in the table" };
    if (text + audio !== cached) {
      return { ok: false, reason: "cached_tokens is not the sum of its details" };
    }
    return { ok: true, text, audio };
  }
  if (details !== undefined && details !== null) {
    return { ok: false, reason: "cached_tokens_details is not an object" };
  }
  if (cached === 0) return { ok: true, text: 0, audio: 0 };
  if (audioIn === 0) return { ok: true, text: cached, audio: 0 };
  if (textIn === 0) return { ok: true, text: 0, audio: cached };
  return { ok: false, reason: "cached tokens without cached_tokens_details" };
}

/** A count the server may omit (0), or null when it is present but not a count. */
function count(value: unknown): number | null {
  if (value === undefined || value === null) return 0;
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function totalMatches(total: unknown, sum: number): boolean {
  return total === undefined || total === null || total === sum;
}

/**
 * Prices a Live session's cumulative billed `seconds` for `model` (`session.usage.updated`
 * reports totals, so this is the call's whole cost so far, never an increment). Every second
 * is priced as active: the usage event does not split out standby, and a page's session is
 * not set up for standby, so this is the figure, not a bound.
 */
export function priceLiveSeconds(
  seconds: number,
  model: string,
  table: Readonly<Record<string, Readonly<LiveMinutePrices>>> = LIVE_PRICES,
): ResponseCost {
  const prices = livePricesFor(model, table);
  if (!prices) return { kind: "unknown-model", model };
  if (!Number.isFinite(seconds) || seconds < 0) {
    return { kind: "unusable-usage", model, reason: "seconds is not a non-negative number" };
  }
  // Nano-dollars per minute are whole (prices are whole tenths of a cent); one rounding.
  const perMinute = Math.round(prices.activePerMinute * 1e9);
  return {
    kind: "priced",
    model,
    nanoUsd: Math.round((seconds * perMinute) / 60),
    tokens: NO_TOKENS,
  };
}

const NO_TOKENS: PricedTokens = {
  textIn: 0,
  cachedTextIn: 0,
  audioIn: 0,
  cachedAudioIn: 0,
  textOut: 0,
  audioOut: 0,
};

/**
 * The page's view of OpenAI's voice prices: the dated tables live once in the contract
 * (`contract/src/prices.ts`, which the operator's usage estimate reads too) and are re-exported
 * here under the names the cost code uses, with the lookups.
 *
 * A model missing from a table gets no money figure at all (never another model's price).
 * Token prices are in whole tenths of a cent (`cost.ts` computes in integer nano-dollars); a
 * test checks that.
 */
import {
  LIVE_PRICES,
  REALTIME_TOKEN_PRICES,
  type LiveMinutePrices,
  type TokenPrices,
} from "voice-contract";

export {
  LIVE_PRICES,
  LIVE_PRICES_AS_OF,
  LIVE_PRICES_SOURCE,
  PRICES_AS_OF,
  PRICES_SOURCE,
  type LiveMinutePrices,
  type TokenPrices,
} from "voice-contract";

/** Realtime prices per 1M tokens, by the exact model name a session reports. */
export const REALTIME_PRICES = REALTIME_TOKEN_PRICES;

/** The prices of `model`, or null when the table does not know it. */
export function pricesFor(
  model: string,
  table: Readonly<Record<string, Readonly<TokenPrices>>> = REALTIME_PRICES,
): Readonly<TokenPrices> | null {
  return Object.hasOwn(table, model) ? (table[model] ?? null) : null;
}

/** The Live prices of `model`, or null when the table does not know it. */
export function livePricesFor(
  model: string,
  table: Readonly<Record<string, Readonly<LiveMinutePrices>>> = LIVE_PRICES,
): Readonly<LiveMinutePrices> | null {
  return Object.hasOwn(table, model) ? (table[model] ?? null) : null;
}

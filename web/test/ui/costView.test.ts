import { describe, expect, it } from "vitest";
import { addCost, NO_COST, priceResponse } from "../../src/realtime/cost";
import { costText } from "../../src/ui/costView";

/** 1,000 text tokens in and 500 audio tokens out, nothing cached. */
const USAGE = {
  input_tokens: 1000,
  output_tokens: 500,
  total_tokens: 1500,
  input_token_details: { text_tokens: 1000, audio_tokens: 0, cached_tokens: 0 },
  output_token_details: { text_tokens: 0, audio_tokens: 500 },
};

describe("costText", () => {
  it("shows nothing before the first response", () => {
    expect(costText(NO_COST, "gpt-realtime-2")).toEqual({ text: "–", kind: "none", nanoUsd: null });
  });

  it("prices a known model from the table", () => {
    // gpt-realtime-2: $4 per 1M text in, $64 per 1M audio out → 0.004 + 0.032 = $0.036.
    const totals = addCost(NO_COST, priceResponse(USAGE, "gpt-realtime-2"));
    expect(costText(totals, "gpt-realtime-2")).toEqual({
      text: "≈ $0.04",
      kind: "estimate",
      nanoUsd: 36_000_000,
    });
  });

  it("gives no money figure for a model the table does not know", () => {
    const totals = addCost(NO_COST, priceResponse(USAGE, "gpt-realtime-next"));
    const shown = costText(totals, "gpt-realtime-next");
    expect(shown).toEqual({
      text: "no price for gpt-realtime-next",
      kind: "unknown",
      nanoUsd: null,
    });
    expect(shown.text).not.toContain("$");
  });

  it("says 'at least' once some responses could not be priced", () => {
    const priced = addCost(NO_COST, priceResponse(USAGE, "gpt-realtime-2"));
    const totals = addCost(priced, priceResponse({ input_token_details: 7 }, "gpt-realtime-2"));
    expect(costText(totals, "gpt-realtime-2")).toEqual({
      text: "≥ $0.04",
      kind: "at-least",
      nanoUsd: 36_000_000,
    });
  });
});

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

describe("GPT-Live's per-minute prices", () => {
  it("prices cumulative seconds at $0.05 per active minute, and no unknown model", async () => {
    const { priceLiveSeconds } = await import("../../src/realtime/cost");
    // 90 s = 1.5 min × $0.05 = $0.075.
    expect(priceLiveSeconds(90, "gpt-live-1")).toMatchObject({
      kind: "priced",
      nanoUsd: 75_000_000,
    });
    expect(priceLiveSeconds(0.5, "gpt-live-1.1")).toMatchObject({ nanoUsd: 416_667 });
    expect(priceLiveSeconds(60, "gpt-live-2")).toEqual({
      kind: "unknown-model",
      model: "gpt-live-2",
    });
    expect(priceLiveSeconds(-1, "gpt-live-1")).toMatchObject({ kind: "unusable-usage" });
  });

  it("is dated and names its source", async () => {
    const { LIVE_PRICES, LIVE_PRICES_AS_OF, LIVE_PRICES_SOURCE } =
      await import("../../src/realtime/prices");
    expect(LIVE_PRICES_AS_OF).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(LIVE_PRICES_SOURCE).toContain("$0.05");
    expect(LIVE_PRICES["gpt-live-1"]).toEqual({ activePerMinute: 0.05, standbyPerMinute: 0.02 });
  });

  it("shows a Live call's figure replacing itself, and the page's as earlier calls plus this one", async () => {
    const { CostView } = await import("../../src/ui/costView");
    const call = { textContent: "", dataset: {} as Record<string, string> };
    const page = { textContent: "", dataset: {} as Record<string, string> };
    const view = new CostView(call as unknown as HTMLElement, page as unknown as HTMLElement);
    view.startCall(null);
    view.setModel("gpt-live-1");
    view.setLiveSeconds(60);
    view.setLiveSeconds(120);
    expect(call.dataset.nanoUsd).toBe("100000000");
    expect(page.dataset.nanoUsd).toBe("100000000");
    view.startCall(null);
    view.setModel("gpt-live-1");
    view.setLiveSeconds(60);
    expect(call.dataset.nanoUsd).toBe("50000000");
    expect(page.dataset.nanoUsd).toBe("150000000");
    expect(page.textContent).toBe("≈ $0.15");
  });
});

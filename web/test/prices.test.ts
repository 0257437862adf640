import { describe, expect, it } from "vitest";
import { PRICES_AS_OF, PRICES_SOURCE, pricesFor, REALTIME_PRICES } from "../src/realtime/prices";

describe("the price table", () => {
  it("is dated and names its source", () => {
    expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}(-\d{2})?$/);
    expect(PRICES_SOURCE).toMatch(/https:\/\/platform\.openai\.com\//);
  });

  it("holds prices cost.ts can count exactly: non-negative whole tenths of a cent", () => {
    for (const [model, prices] of Object.entries(REALTIME_PRICES)) {
      for (const [kind, price] of Object.entries(prices)) {
        expect(price, `${model} ${kind}`).toBeGreaterThanOrEqual(0);
        const millis = price * 1000;
        expect(Math.abs(millis - Math.round(millis)), `${model} ${kind}`).toBeLessThan(1e-6);
      }
    }
  });

  it("prices cached input below fresh input and output above input", () => {
    for (const [model, p] of Object.entries(REALTIME_PRICES)) {
      expect(p.cachedAudioIn, model).toBeLessThan(p.audioIn);
      expect(p.cachedTextIn, model).toBeLessThan(p.textIn);
      expect(p.audioOut, model).toBeGreaterThan(p.audioIn);
      expect(p.textOut, model).toBeGreaterThan(p.textIn);
    }
  });

  it("knows the default model and nothing by prefix", () => {
    expect(pricesFor("gpt-realtime-2")).toMatchObject({ audioIn: 32, audioOut: 64 });
    expect(pricesFor("gpt-realtime")).toBeNull();
    expect(pricesFor("__proto__")).toBeNull();
  });
});

import type { RealtimeResponseUsage } from "openai/resources/realtime/realtime";
import { describe, expect, it } from "vitest";
import {
  addCost,
  costFigure,
  formatCost,
  NO_COST,
  priceResponse,
  type ResponseCost,
} from "../src/realtime/cost";

/** A usage as the server sends it: totals, text/audio split, cached part broken down. */
function usage(
  input: { text?: number; audio?: number; cachedText?: number; cachedAudio?: number },
  output: { text?: number; audio?: number } = {},
): RealtimeResponseUsage {
  const text = input.text ?? 0;
  const audio = input.audio ?? 0;
  const cachedText = input.cachedText ?? 0;
  const cachedAudio = input.cachedAudio ?? 0;
  const outText = output.text ?? 0;
  const outAudio = output.audio ?? 0;
  return {
    input_tokens: text + audio,
    output_tokens: outText + outAudio,
    total_tokens: text + audio + outText + outAudio,
    input_token_details: {
      text_tokens: text,
      audio_tokens: audio,
      image_tokens: 0,
      cached_tokens: cachedText + cachedAudio,
      cached_tokens_details: {
        text_tokens: cachedText,
        audio_tokens: cachedAudio,
        image_tokens: 0,
      },
    },
    output_token_details: { text_tokens: outText, audio_tokens: outAudio },
  };
}

function nano(cost: ResponseCost): number {
  if (cost.kind !== "priced") throw new Error(`not priced: ${JSON.stringify(cost)}`);
  return cost.nanoUsd;
}

describe("priceResponse", () => {
  it("prices each kind of token at its own rate, cached input at the cached rate", () => {
    const cost = priceResponse(
      usage(
        { text: 1000, cachedText: 200, audio: 5000, cachedAudio: 3000 },
        { text: 100, audio: 2000 },
      ),
      "gpt-realtime-2",
    );
    expect(cost).toEqual({
      kind: "priced",
      model: "gpt-realtime-2",
      // 800 × $4 + 200 × $0.40 + 2000 × $32 + 3000 × $0.40 + 100 × $24 + 2000 × $64, per 1M.
      nanoUsd: 198_880_000,
      tokens: {
        textIn: 800,
        cachedTextIn: 200,
        audioIn: 2000,
        cachedAudioIn: 3000,
        textOut: 100,
        audioOut: 2000,
      },
    });
    expect(formatCost(costFigure(addCost(NO_COST, cost)))).toBe("≈ $0.20");
  });

  it("charges audio more than text, and output more than input", () => {
    const model = "gpt-realtime-2";
    expect(nano(priceResponse(usage({ text: 1000 }), model))).toBe(4_000_000);
    expect(nano(priceResponse(usage({ audio: 1000 }), model))).toBe(32_000_000);
    expect(nano(priceResponse(usage({}, { text: 1000 }), model))).toBe(24_000_000);
    expect(nano(priceResponse(usage({}, { audio: 1000 }), model))).toBe(64_000_000);
  });

  it("uses the smaller model's own prices, cached text included", () => {
    const cost = priceResponse(
      usage({ text: 10_000, cachedText: 10_000, audio: 1000 }, { audio: 500 }),
      "gpt-realtime-mini",
    );
    // 10,000 × $0.06 + 1000 × $10 + 500 × $20, per 1M.
    expect(nano(cost)).toBe(600_000 + 10_000_000 + 10_000_000);
  });

  it("gives an unknown model no money figure", () => {
    const cost = priceResponse(usage({ audio: 1000 }), "gpt-realtime-9");
    expect(cost).toEqual({ kind: "unknown-model", model: "gpt-realtime-9" });
    const totals = addCost(NO_COST, cost);
    expect(costFigure(totals)).toEqual({ kind: "unknown" });
    expect(formatCost(costFigure(totals))).toBeNull();
  });

  it("does not price a dated snapshot or an inherited property by a near name", () => {
    expect(priceResponse(usage({}), "gpt-realtime-mini-2025-12-15").kind).toBe("unknown-model");
    expect(priceResponse(usage({}), "toString").kind).toBe("unknown-model");
  });

  it("splits cached tokens without their breakdown only when one kind had no input", () => {
    const audioOnly: RealtimeResponseUsage = {
      input_tokens: 1000,
      input_token_details: { text_tokens: 0, audio_tokens: 1000, cached_tokens: 400 },
    };
    expect(priceResponse(audioOnly, "gpt-realtime-2")).toMatchObject({
      kind: "priced",
      tokens: { audioIn: 600, cachedAudioIn: 400 },
    });
    const mixed: RealtimeResponseUsage = {
      input_tokens: 1100,
      input_token_details: { text_tokens: 100, audio_tokens: 1000, cached_tokens: 400 },
    };
    expect(priceResponse(mixed, "gpt-realtime-2")).toEqual({
      kind: "unusable-usage",
      model: "gpt-realtime-2",
      reason: "cached tokens without cached_tokens_details",
    });
  });

  it.each<[string, unknown, RegExp]>([
    ["no usage", undefined, /no usage/],
    ["a string", "lots", /no usage/],
    ["a negative count", { output_token_details: { audio_tokens: -5 } }, /audioOut/],
    ["a fractional count", { input_token_details: { text_tokens: 1.5 } }, /textIn/],
    [
      "input details that do not add up to input_tokens",
      { input_tokens: 50, input_token_details: { text_tokens: 10 } },
      /input_tokens/,
    ],
    ["totals without details", { output_tokens: 20 }, /output_tokens/],
    [
      "more cached than input",
      {
        input_token_details: {
          text_tokens: 10,
          cached_tokens: 20,
          cached_tokens_details: { text_tokens: 20 },
        },
      },
      /more cached/,
    ],
    [
      "cached details that do not add up",
      {
        input_token_details: {
          text_tokens: 10,
          cached_tokens: 5,
          cached_tokens_details: { text_tokens: 4 },
        },
      },
      /sum of its details/,
    ],
    ["image input", { input_token_details: { image_tokens: 3 } }, /image/],
  ])("refuses to price %s rather than guess", (_name, bad, reason) => {
    const cost = priceResponse(bad, "gpt-realtime-2");
    expect(cost.kind).toBe("unusable-usage");
    if (cost.kind === "unusable-usage") expect(cost.reason).toMatch(reason);
  });

  it("prices a response with all-zero usage at zero", () => {
    expect(nano(priceResponse(usage({}), "gpt-realtime-2"))).toBe(0);
    expect(nano(priceResponse({}, "gpt-realtime-2"))).toBe(0);
  });
});

describe("totals per call and per session", () => {
  it("sums responses exactly and says when some could not be priced", () => {
    const first = priceResponse(usage({ text: 1000 }), "gpt-realtime-2");
    const second = priceResponse(usage({}, { audio: 1000 }), "gpt-realtime-2");
    const call = addCost(addCost(NO_COST, first), second);
    expect(call).toEqual({ nanoUsd: 68_000_000, priced: 2, unpriced: 0 });
    expect(costFigure(call)).toEqual({ kind: "estimate", nanoUsd: 68_000_000 });

    // A second call (a reconnect) whose response carried no usage.
    const session = addCost(call, priceResponse(undefined, "gpt-realtime-2"));
    expect(costFigure(session)).toEqual({ kind: "at-least", nanoUsd: 68_000_000 });
    expect(formatCost(costFigure(session))).toBe("≥ $0.07");
  });

  it("shows nothing before the first response", () => {
    expect(costFigure(NO_COST)).toEqual({ kind: "none" });
    expect(formatCost(costFigure(NO_COST))).toBeNull();
  });
});

describe("formatCost", () => {
  it.each([
    [0, "≈ $0.00"],
    [1, "≈ < $0.01"],
    [4_999_999, "≈ < $0.01"],
    [5_000_000, "≈ $0.01"],
    [70_000_000, "≈ $0.07"],
    [75_000_000, "≈ $0.08"],
    // Half a cent rounds up; in floating-point dollars 1.005 × 100 is 100.4999….
    [1_005_000_000, "≈ $1.01"],
    [1_234_567_890_000, "≈ $1234.57"],
  ])("%d nano-dollars is %s", (nanoUsd, text) => {
    expect(formatCost({ kind: "estimate", nanoUsd })).toBe(text);
  });

  it("rounds a real half-cent total up", () => {
    // 41,875 text output tokens × $24 per 1M = $1.005, which dollars in floating point
    // (41875 * 24 / 1e6 * 100) round down to $1.00.
    const cost = priceResponse(usage({}, { text: 41_875 }), "gpt-realtime-2");
    expect(formatCost(costFigure(addCost(NO_COST, cost)))).toBe("≈ $1.01");
  });
});

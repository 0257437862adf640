import { describe, expect, it } from "vitest";
import * as web from "../../web/src/realtime/prices.js";
import {
  estimateCallCostUsd,
  LIVE_PRICES,
  PRICES_AS_OF,
  REALTIME_TOKEN_PRICES,
  usdPerCallMinute,
} from "../src/prices.js";

describe("prices", () => {
  it("is the page's table too", () => {
    expect(web.REALTIME_PRICES).toBe(REALTIME_TOKEN_PRICES);
    expect(web.LIVE_PRICES).toBe(LIVE_PRICES);
    expect(web.PRICES_AS_OF).toBe(PRICES_AS_OF);
  });

  it("prices a Realtime minute from its audio tokens, a Live minute at its own rate", () => {
    // 300 audio tokens in at $32/M and 600 out at $64/M.
    expect(usdPerCallMinute("realtime", "gpt-realtime-2")).toBeCloseTo(0.048, 12);
    expect(usdPerCallMinute("realtime", "gpt-realtime-mini")).toBeCloseTo(0.015, 12);
    expect(usdPerCallMinute("live", "gpt-live-1.1")).toBe(0.05);
  });

  it("gives a model no table knows, or a model on the wrong API, no figure", () => {
    expect(usdPerCallMinute("realtime", "gpt-realtime-9")).toBeNull();
    expect(usdPerCallMinute("live", "gpt-realtime-2")).toBeNull();
    expect(usdPerCallMinute("realtime", "constructor")).toBeNull();
    expect(estimateCallCostUsd("live", "toString", 60)).toBeNull();
  });

  it("rounds an estimate to a millionth of a dollar", () => {
    expect(estimateCallCostUsd("live", "gpt-live-1", 1)).toBe(0.000833);
    expect(estimateCallCostUsd("realtime", "gpt-realtime-2", 0)).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import {
  isMinuteLimitReason,
  MINUTE_BUDGETS,
  MINUTE_LIMIT_REASONS,
  type VoiceMinutes,
} from "../src/minutes.js";

const MINUTES: VoiceMinutes = {
  daySeconds: 0,
  dayResetsAtMs: 1_000,
  monthSeconds: 60,
  monthResetsAtMs: 2_000,
  readAtMs: 500,
};

describe("minute budgets", () => {
  it("tells a minute budget's reason from every other reason and from garbage", () => {
    for (const reason of MINUTE_LIMIT_REASONS) expect(isMinuteLimitReason(reason)).toBe(true);
    for (const other of ["ip-rate", "upstream-rate", "daily-quota", "call", "", null, 3])
      expect(isMinuteLimitReason(other)).toBe(false);
  });

  it("reads each budget's reset and seconds left from the caller's minutes", () => {
    expect(MINUTE_BUDGETS["daily-minutes"].resetsAtMs(MINUTES)).toBe(1_000);
    expect(MINUTE_BUDGETS["monthly-minutes"].resetsAtMs(MINUTES)).toBe(2_000);
    expect(
      MINUTE_BUDGETS["monthly-minutes"].resetsAtMs({ ...MINUTES, monthResetsAtMs: null }),
    ).toBeNull();
    expect(MINUTE_BUDGETS["daily-minutes"].secondsLeft(MINUTES)).toBe(0);
    expect(MINUTE_BUDGETS["monthly-minutes"].secondsLeft(MINUTES)).toBe(60);
    expect(
      MINUTE_BUDGETS["monthly-minutes"].secondsLeft({ ...MINUTES, monthSeconds: null }),
    ).toBeNull();
  });

  it("has words for every reason", () => {
    expect(Object.keys(MINUTE_BUDGETS).sort()).toEqual([...MINUTE_LIMIT_REASONS].sort());
    for (const reason of MINUTE_LIMIT_REASONS) {
      const { period, when, at } = MINUTE_BUDGETS[reason];
      for (const words of [period, when, at]) expect(words.trim()).not.toBe("");
    }
  });
});

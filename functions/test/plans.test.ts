import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/configError";
import { type MinuteState, remaining } from "../src/minutes";
import {
  applyPlan,
  DEFAULT_PLAN,
  parsePlans,
  planApis,
  planMinuteLimits,
  planRefusal,
  resolvePlan,
} from "../src/plans";
import { resolveSettings } from "../src/settings";
import { unitRawSettings, unitSettings } from "./helpers/settings";

const DECLARED = JSON.stringify({
  default: { dailyMinutes: 5 },
  pro: {
    dailyMinutes: 120,
    monthlyMinutes: 2000,
    maxCallSeconds: 1800,
    mintsPerDay: 500,
    mintIntervalSeconds: 2,
    modes: ["brokered", "secret"],
    models: ["gpt-realtime-2"],
  },
  brokeredOnly: { modes: ["brokered"] },
});

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("no ConfigError");
}

describe("parsePlans", () => {
  it("declares only an empty default plan for {} (every user on the params, as before plans)", () => {
    expect(parsePlans("{}")).toEqual({ [DEFAULT_PLAN]: {} });
    expect(parsePlans("  ")).toEqual({ [DEFAULT_PLAN]: {} });
  });

  it("converts each field to the settings' units", () => {
    const book = parsePlans(DECLARED);
    expect(book.default).toEqual({ dailySeconds: 300 });
    expect(book.pro).toEqual({
      dailySeconds: 7200,
      monthlySeconds: 120_000,
      maxCallSeconds: 1800,
      userDailyQuota: 500,
      userMinIntervalMs: 2000,
      modes: ["brokered", "secret"],
      models: ["gpt-realtime-2"],
    });
  });

  it.each([
    ["not json", /VOICE_PLANS: is not JSON/],
    ["[]", /must be a JSON object/],
    ['{"pro": 5}', /plan "pro".*must be an object/],
    ['{"pro": {"dailyMinutes": 0}}', /plan "pro": dailyMinutes must be an integer >= 1, got 0/],
    [
      '{"pro": {"maxCallSeconds": 4000}}',
      /plan "pro": maxCallSeconds must be an integer from 1 to 3600/,
    ],
    ['{"pro": {"mintsPerDay": 1.5}}', /plan "pro": mintsPerDay must be an integer >= 0, got 1.5/],
    ['{"pro": {"dailyMinutes": "5"}}', /plan "pro": dailyMinutes .* got "5"/],
    [
      '{"pro": {"dailyMinuts": 5}}',
      /plan "pro": dailyMinuts is not a plan field \(known: dailyMinutes/,
    ],
    [
      '{"pro": {"modes": ["secret", "phone"]}}',
      /plan "pro": modes "phone" is not one of secret, brokered/,
    ],
    ['{"pro": {"modes": []}}', /plan "pro": modes must be a non-empty array/],
    ['{"pro": {"models": [""]}}', /plan "pro": models must not hold an empty string/],
    ['{"pro plus": {}}', /plan name "pro plus" must be/],
  ])("rejects %s naming the plan and the field", (json, message) => {
    const error = configError(() => parsePlans(json));
    expect(error.param).toBe("VOICE_PLANS");
    expect(error.message).toMatch(message);
  });

  it("is checked with the other settings: a bad plan is a ConfigError of VOICE_PLANS", () => {
    const error = configError(() =>
      resolveSettings({ ...unitRawSettings, VOICE_PLANS: '{"free":{"dailyMinutes":-1}}' }),
    );
    expect(error.message).toMatch(/^VOICE_PLANS: plan "free": dailyMinutes/);
  });
});

describe("resolvePlan", () => {
  const book = parsePlans(DECLARED);

  it("gives a caller without a claim (or without claims) the default plan", () => {
    expect(resolvePlan({ email: "a@b.c" }, book)).toEqual({ name: "default", plan: book.default });
    expect(resolvePlan(undefined, book)).toEqual({ name: "default", plan: book.default });
    expect(resolvePlan({ voicePlan: null }, book).warning).toBeUndefined();
  });

  it("gives a caller the plan their voicePlan claim names", () => {
    expect(resolvePlan({ voicePlan: "pro" }, book)).toEqual({ name: "pro", plan: book.pro });
  });

  it("gives an unknown plan the default and a warning, never a failure", () => {
    expect(resolvePlan({ voicePlan: "gold" }, book)).toEqual({
      name: "default",
      plan: book.default,
      warning: { claimed: "gold", problem: 'no plan "gold" in VOICE_PLANS' },
    });
    expect(resolvePlan({ voicePlan: "toString" }, book).name).toBe("default");
    expect(resolvePlan({ voicePlan: 3 }, book).warning?.problem).toMatch(/not a string/);
  });

  it("without declarations gives everybody, whatever their claim, the params", () => {
    const none = parsePlans("{}");
    const resolved = resolvePlan({ voicePlan: "pro" }, none);
    expect(resolved.name).toBe("default");
    expect(applyPlan(unitSettings, resolved.plan)).toEqual(unitSettings);
  });
});

describe("applying a plan", () => {
  const book = parsePlans(DECLARED);
  const voice = {
    serveSecret: true,
    serveBrokered: true,
    limits: { dailySeconds: 1800, monthlySeconds: 0, maxCallSeconds: 600 },
    callsPerNetworkPerMinute: 30,
    apis: ["realtime"] as ["realtime"],
    liveModel: "gpt-live-1",
  };

  it("overrides the limits the plan sets and keeps the params elsewhere", () => {
    const planned = applyPlan({ ...unitSettings, voice }, book.default ?? {});
    expect(planned.voice.limits).toEqual({
      dailySeconds: 300,
      monthlySeconds: 0,
      maxCallSeconds: 600,
    });
    expect(planned.limits).toEqual(unitSettings.limits);
    const pro = applyPlan({ ...unitSettings, voice }, book.pro ?? {});
    expect(pro.limits).toEqual({
      ...unitSettings.limits,
      userDailyQuota: 500,
      userMinIntervalMs: 2000,
    });
    expect(pro.voice.callsPerNetworkPerMinute).toBe(30);
  });

  it("a mid-day change keeps today's used seconds and meets the new plan's limit", () => {
    const now = Date.UTC(2026, 11, 6, 15);
    // 4 of the default plan's 5 minutes used this morning.
    const state: MinuteState = {
      seq: 3,
      day: "2026-12-06",
      daySeconds: 240,
      month: "2026-12",
      monthSeconds: 240,
    };
    const before = remaining(state, planMinuteLimits(voice.limits, book.default ?? {}), now);
    expect(before.daySeconds).toBe(60);
    const after = remaining(state, planMinuteLimits(voice.limits, book.pro ?? {}), now);
    expect(after.daySeconds).toBe(7200 - 240);
    expect(after.monthSeconds).toBe(120_000 - 240);
    // And back down: a downgrade below what was used leaves nothing today, not a negative.
    const down = remaining(state, planMinuteLimits(voice.limits, { dailySeconds: 120 }), now);
    expect(down.daySeconds).toBe(0);
  });

  it("refuses a mode or a model the plan does not include", () => {
    expect(planRefusal(book.brokeredOnly ?? {}, "secret", "gpt-realtime-2")).toEqual({
      refused: "mode",
      modes: ["brokered"],
    });
    expect(planRefusal(book.brokeredOnly ?? {}, "brokered", "gpt-realtime-2")).toBeUndefined();
    expect(planRefusal(book.pro ?? {}, "brokered", "gpt-realtime-mini")).toEqual({
      refused: "model",
      model: "gpt-realtime-mini",
    });
    expect(planRefusal(book.pro ?? {}, "secret", "gpt-realtime-2")).toBeUndefined();
  });
});

describe("planApis", () => {
  const voice = { apis: ["realtime", "live"] as ["realtime", "live"], liveModel: "gpt-live-1" };

  it("keeps Live only for a plan whose models list LIVE_MODEL", () => {
    expect(planApis(voice, {})).toEqual(["realtime", "live"]);
    expect(planApis(voice, { models: ["gpt-realtime-2"] })).toEqual(["realtime"]);
    expect(planApis(voice, { models: ["gpt-realtime-2", "gpt-live-1"] })).toEqual([
      "realtime",
      "live",
    ]);
  });

  it("never leaves a plan with no upstream: the call is refused for its model instead", () => {
    expect(planApis({ ...voice, apis: ["live"] }, { models: ["gpt-realtime-2"] })).toEqual([
      "live",
    ]);
  });
});

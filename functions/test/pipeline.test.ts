import { HttpsError } from "firebase-functions/v2/https";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/configError";
import { fail } from "../src/failure";
import type { GuardedRequest } from "../src/guards";
import { UpstreamError } from "../src/openai";
import {
  bestEffort,
  callablePipeline,
  type CallableSpec,
  logUpstreamFailure,
} from "../src/pipeline";
import type { BrokeredSettings } from "../src/brokered";
import { parsePlans } from "../src/plans";
import { resolveSettings, type Settings } from "../src/settings";
import type { VoiceSettings } from "../src/voiceSettings";
import { unitRawSettings, unitSettings } from "./helpers/settings";
import { FakeLog } from "./helpers/brokered";

type S = { replayProtection: boolean };
const KEY = "sk-pipeline-test-key-0123456789";
const VOICE: VoiceSettings = {
  serveSecret: false,
  serveBrokered: true,
  limits: { dailySeconds: 60, monthlySeconds: 0, maxCallSeconds: 60 },
  callsPerNetworkPerMinute: 1,
};

function spec(overrides: Partial<CallableSpec<S, string, string>> = {}) {
  const log = new FakeLog();
  const ran: string[] = [];
  const full: CallableSpec<S, string, string> = {
    callable: "demoCall",
    event: "demo",
    settings: () => ({ replayProtection: true }),
    apiKey: () => KEY,
    parse: (data) =>
      typeof data === "string"
        ? { ok: true, value: data }
        : { ok: false, field: "(request)", message: "Send a string." },
    mode: "brokered",
    modes: () => VOICE,
    log,
    run: async ({ input, uid }) => {
      ran.push(input);
      return `${uid}:${input}`;
    },
    ...overrides,
  };
  return { handler: callablePipeline(full), log, ran };
}

function request(data: unknown, uid = "u1"): GuardedRequest {
  return {
    data,
    auth: { uid },
    app: { alreadyConsumed: false },
    rawRequest: { headers: { "x-forwarded-for": "203.0.113.9" } },
  };
}

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("callablePipeline", () => {
  it("runs the step of an admitted request with its parsed input", async () => {
    const { handler, ran } = spec();
    await expect(handler(request("hi"))).resolves.toBe("u1:hi");
    expect(ran).toEqual(["hi"]);
  });

  it("answers every failure of the guards and the step through the one exit", async () => {
    const { handler, ran } = spec({
      run: async () => fail({ kind: "call-not-found", callId: "rtc_9" }),
    });
    const bad = await thrown(handler(request(42)));
    expect(bad).toBeInstanceOf(HttpsError);
    expect(bad).toMatchObject({ code: "invalid-argument", details: { field: "(request)" } });
    expect(await thrown(handler(request("x", "")))).toMatchObject({ code: "unauthenticated" });
    expect(await thrown(handler(request("x")))).toMatchObject({ code: "not-found" });
    expect(ran).toEqual([]);
  });

  it("refuses a mode the backend does not serve, logs it, and never runs the step", async () => {
    const { handler, log, ran } = spec({ mode: "secret" });
    expect(await thrown(handler(request("x")))).toMatchObject({
      code: "failed-precondition",
      details: { reason: "mode-not-served", served: ["brokered"] },
    });
    expect(log.entries).toContainEqual(
      expect.objectContaining({ message: "demo_mode_refused", fields: { uid: "u1" } }),
    );
    expect(ran).toEqual([]);
  });

  it("serves every mode when no modes are configured", async () => {
    const { handler } = spec({ mode: "secret", modes: () => undefined });
    await expect(handler(request("x"))).resolves.toBe("u1:x");
  });

  it("turns a bad setting, read by the guards or the mode check, into misconfigured", async () => {
    for (const broken of [
      spec({
        settings: () => {
          throw new ConfigError("OPENAI_TIMEOUT_MS", "must be an integer >= 100, got 5");
        },
      }),
      spec({
        modes: () => {
          throw new ConfigError("REALTIME_MODES", 'must be one of secret, brokered, both, got "x"');
        },
      }),
    ]) {
      const error = await thrown(broken.handler(request("x")));
      expect(error).toMatchObject({ code: "internal" });
      expect((error as HttpsError).message).toMatch(/demoCall service is misconfigured/);
      expect((error as HttpsError).message).not.toMatch(/OPENAI_TIMEOUT_MS|REALTIME_MODES/);
      expect(broken.log.entries[0]?.message).toBe("demo_config");
      expect(broken.ran).toEqual([]);
    }
  });

  it("lets an error that is no Failure through unchanged (the SDK answers internal)", async () => {
    const bug = new TypeError("a bug");
    const { handler } = spec({ run: () => Promise.reject(bug) });
    expect(await thrown(handler(request("x")))).toBe(bug);
  });
});

describe("bestEffort", () => {
  it("reports success, and logs a failing step without throwing", async () => {
    const log = new FakeLog();
    await expect(
      bestEffort(log, "demo_store_failed", { stage: "refund" }, async () => 1),
    ).resolves.toBe(true);
    expect(log.entries).toEqual([]);
    const failed = await bestEffort(log, "demo_store_failed", { stage: "refund" }, () =>
      Promise.reject(new Error(`down near ${KEY}`)),
    );
    expect(failed).toBe(false);
    expect(log.entries[0]).toMatchObject({
      message: "demo_store_failed",
      fields: { stage: "refund", error: expect.stringContaining("down near") },
    });
    expect(JSON.stringify(log.entries)).not.toContain(KEY);
  });
});

describe("callablePipeline: refusal counts", () => {
  function counting(
    counter: (reason: string) => Promise<void>,
    run: CallableSpec<S, string, string>["run"],
  ) {
    return spec({ countRefusal: counter, run });
  }

  it("counts a limit's refusal by its reason before answering it", async () => {
    const counted: string[] = [];
    const { handler } = counting(
      async (reason) => {
        counted.push(reason);
      },
      async () =>
        fail({ kind: "refused", refusal: { reason: "daily-minutes", retryAfterSeconds: 9 } }),
    );
    expect(await thrown(handler(request("x")))).toMatchObject({ code: "resource-exhausted" });
    expect(counted).toEqual(["daily-minutes"]);
  });

  it("counts the backend's mode refusal, and nothing for a success or a failure that is no refusal", async () => {
    const counted: string[] = [];
    const count = async (reason: string) => {
      counted.push(reason);
    };
    await spec({ countRefusal: count }).handler(request("ok"));
    await thrown(spec({ countRefusal: count }).handler(request(42)));
    await thrown(
      spec({
        countRefusal: count,
        run: async () => fail({ kind: "store-unavailable", stage: "limits" }),
      }).handler(request("x")),
    );
    await thrown(
      spec({
        countRefusal: count,
        modes: () => ({ ...VOICE, serveBrokered: false, serveSecret: true }),
      }).handler(request("x")),
    );
    expect(counted).toEqual(["mode-not-served"]);
  });

  it("answers the refusal all the same when counting it fails, and logs that", async () => {
    const { handler, log } = counting(
      async () => {
        throw new Error("Firestore did not answer the refusal count within 5000 ms");
      },
      async () => fail({ kind: "refused", refusal: { reason: "ip-rate", retryAfterSeconds: 3 } }),
    );
    expect(await thrown(handler(request("x")))).toMatchObject({
      code: "resource-exhausted",
      details: { reason: "ip-rate" },
    });
    expect(log.entries).toContainEqual({
      level: "error",
      message: "demo_refusal_count_failed",
      fields: { reason: "ip-rate", error: expect.stringMatching(/refusal count/) },
    });
  });
});

describe("logUpstreamFailure", () => {
  it("logs the kind, status and request id, and returns the kind", () => {
    const log = new FakeLog();
    const error = new UpstreamError("rate", "429", {
      status: 429,
      requestId: "req_1",
      code: "rate",
    });
    expect(logUpstreamFailure(log, "demo_upstream_failed", { uid: "u1" }, error)).toBe("rate");
    expect(log.entries[0]?.fields).toMatchObject({
      uid: "u1",
      kind: "rate",
      status: 429,
      requestId: "req_1",
      code: "rate",
    });
    expect(logUpstreamFailure(log, "demo_upstream_failed", {}, new Error("x"))).toBe("unknown");
  });
});

describe("callablePipeline with plans", () => {
  type P = BrokeredSettings;
  const settings: P = {
    ...unitSettings,
    voice: { ...VOICE, serveSecret: true, limits: { ...VOICE.limits, dailySeconds: 1800 } },
    plans: parsePlans(
      JSON.stringify({
        default: { dailyMinutes: 5 },
        pro: { dailyMinutes: 120, maxCallSeconds: 900, mintsPerDay: 7 },
        brokeredOnly: { modes: ["brokered"] },
        miniOnly: { models: ["gpt-realtime-mini"] },
      }),
    ),
  };

  function planned(
    mode: "secret" | "brokered" = "brokered",
    countRefusal?: (reason: string) => Promise<void>,
  ) {
    const log = new FakeLog();
    const seen: { plan: string; settings: P }[] = [];
    const handler = callablePipeline<P, string, string>({
      callable: "demoCall",
      event: "demo",
      settings: () => settings,
      apiKey: () => KEY,
      parse: (data) => ({ ok: true, value: String(data) }),
      mode,
      modes: (s) => s.voice,
      log,
      ...(countRefusal !== undefined ? { countRefusal } : {}),
      run: async ({ plan, settings: s }) => {
        seen.push({ plan: plan.name, settings: s });
        return plan.name;
      },
    });
    return { handler, log, seen };
  }

  function withClaims(token: Record<string, unknown>, uid = "u1"): GuardedRequest {
    return { ...request("x", uid), auth: { uid, token } };
  }

  it("hands the step settings whose limits are the caller's plan", async () => {
    const { handler, seen } = planned();
    await handler(withClaims({ voicePlan: "pro" }, "paying"));
    await handler(withClaims({}, "free"));
    expect(seen.map((s) => s.plan)).toEqual(["pro", "default"]);
    expect(seen[0]?.settings.voice.limits).toEqual({
      dailySeconds: 7200,
      monthlySeconds: 0,
      maxCallSeconds: 900,
    });
    expect(seen[0]?.settings.limits.userDailyQuota).toBe(7);
    expect(seen[1]?.settings.voice.limits.dailySeconds).toBe(300);
    expect(seen[1]?.settings.limits).toEqual(unitSettings.limits);
  });

  it("gives an unknown plan the default and logs a warning, never internal", async () => {
    const { handler, log, seen } = planned();
    await expect(handler(withClaims({ voicePlan: "gold" }))).resolves.toBe("default");
    expect(seen[0]?.settings.voice.limits.dailySeconds).toBe(300);
    expect(log.entries).toContainEqual({
      level: "warn",
      message: "demo_plan_unknown",
      fields: { uid: "u1", claimed: "gold", problem: 'no plan "gold" in VOICE_PLANS' },
    });
  });

  it("refuses a mode the plan does not include like the backend's mode refusal", async () => {
    const { handler, log, seen } = planned("secret");
    expect(await thrown(handler(withClaims({ voicePlan: "brokeredOnly" })))).toMatchObject({
      code: "failed-precondition",
      message: expect.stringMatching(/Your plan \(brokeredOnly\) does not include demoCall/),
      details: { reason: "mode-not-served", served: ["brokered"] },
    });
    expect(log.messages()).toContain("demo_plan_refused");
    expect(seen).toEqual([]);
  });

  it("counts a plan's refusals as plan-mode and plan-model", async () => {
    const counted: string[] = [];
    for (const [mode, claim] of [
      ["secret", "brokeredOnly"],
      ["brokered", "miniOnly"],
    ] as const) {
      const { handler } = planned(mode, async (reason) => {
        counted.push(reason);
      });
      await thrown(handler(withClaims({ voicePlan: claim })));
    }
    expect(counted).toEqual(["plan-mode", "plan-model"]);
  });

  it("refuses a plan whose models leave out the server's model", async () => {
    const { handler, seen } = planned();
    expect(await thrown(handler(withClaims({ voicePlan: "miniOnly" })))).toMatchObject({
      code: "failed-precondition",
      details: { reason: "plan-model-not-allowed", plan: "miniOnly" },
    });
    expect(seen).toEqual([]);
  });

  it("a bad declaration is misconfigured, naming VOICE_PLANS in the log only", async () => {
    const log = new FakeLog();
    const handler = callablePipeline<Settings, string, string>({
      callable: "demoCall",
      event: "demo",
      settings: () => resolveSettings({ ...unitRawSettings, VOICE_PLANS: '{"pro":{"x":1}}' }),
      apiKey: () => KEY,
      parse: (data) => ({ ok: true, value: String(data) }),
      mode: "secret",
      modes: () => undefined,
      log,
      run: async () => "ran",
    });
    expect(await thrown(handler(request("x")))).toMatchObject({ code: "internal" });
    expect(log.entries[0]).toMatchObject({
      message: "demo_config",
      fields: { param: "VOICE_PLANS", problem: expect.stringMatching(/plan "pro": x is not/) },
    });
  });
});

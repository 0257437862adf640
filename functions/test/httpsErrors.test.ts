import { HttpsError } from "firebase-functions/v2/https";
import { describe, expect, it } from "vitest";
import { CallableFailure, type Failure, modeNotServed } from "../src/failure";
import { exitError, toHttpsError } from "../src/httpsErrors";
import { resolveVoiceSettings } from "../src/voiceSettings";

const MINUTES = {
  daySeconds: 0,
  dayResetsAtMs: 86_400_000,
  monthSeconds: null,
  monthResetsAtMs: null,
  readAtMs: 86_000_000,
};

/** Every kind of the union, with the code, text and details the client must see. */
const CASES: [Failure, string, RegExp, unknown][] = [
  [
    { kind: "signed-out", callable: "realtimeCall" },
    "unauthenticated",
    /^Sign in before calling realtimeCall\.$/,
    undefined,
  ],
  [{ kind: "app-check-missing" }, "unauthenticated", /App Check token/, undefined],
  [
    { kind: "app-check-replayed", callable: "realtimeToken" },
    "permission-denied",
    /already used\. Call realtimeToken with \{ limitedUseAppCheckTokens: true \}/,
    undefined,
  ],
  [
    { kind: "bad-input", field: "voice", message: "voice must be one of marin, cedar." },
    "invalid-argument",
    /^voice must be one of marin, cedar\.$/,
    { field: "voice" },
  ],
  [
    { kind: "mode-not-served", callable: "realtimeCall", served: ["secret"] },
    "failed-precondition",
    /realtimeCall is not served here \(REALTIME_MODES serves secret\)\. Call realtimeToken instead/,
    { reason: "mode-not-served", served: ["secret"] },
  ],
  [
    { kind: "refused", refusal: { reason: "daily-quota", retryAfterSeconds: 30 } },
    "resource-exhausted",
    /today's realtime quota.*in 30 s/,
    { reason: "daily-quota", retryAfterSeconds: 30 },
  ],
  [
    {
      kind: "refused",
      refusal: { reason: "ip-rate", retryAfterSeconds: 5 },
      minutes: MINUTES,
    },
    "resource-exhausted",
    /Too many calls from your network\. Try again in 5 s\./,
    { reason: "ip-rate", retryAfterSeconds: 5, minutes: MINUTES },
  ],
  [
    { kind: "misconfigured", callable: "endRealtimeCall" },
    "internal",
    /^The endRealtimeCall service is misconfigured\. Its logs name the setting to fix\.$/,
    undefined,
  ],
  [
    { kind: "store-unavailable", stage: "limits" },
    "unavailable",
    /Could not check your usage limits/,
    undefined,
  ],
  [
    { kind: "store-unavailable", stage: "find-call" },
    "unavailable",
    /^Could not end the call\./,
    undefined,
  ],
  [
    { kind: "store-unavailable", stage: "end-call" },
    "unavailable",
    /unused minutes could not be handed back/,
    undefined,
  ],
  [
    { kind: "upstream-unavailable", failure: "malformed" },
    "unavailable",
    /^OpenAI is not available right now/,
    undefined,
  ],
  [
    { kind: "upstream-unavailable", failure: "timeout" },
    "unavailable",
    /^OpenAI did not answer in time\./,
    { reason: "upstream-timeout" },
  ],
  [
    { kind: "call-not-found", callId: "rtc_1" },
    "not-found",
    /^You have no call with the id rtc_1\.$/,
    undefined,
  ],
  [
    { kind: "call-not-scheduled" },
    "unavailable",
    /Could not schedule the end of your call/,
    undefined,
  ],
  [{ kind: "hangup-failed" }, "unavailable", /it still ends at its deadline/, undefined],
  [
    { kind: "not-operator", callable: "operatorUsage" },
    "permission-denied",
    /^operatorUsage is for operators, and this account has no voiceAdmin claim\. .*npm run plan -- admin <uid\|email> on/,
    undefined,
  ],
  [
    { kind: "store-unavailable", stage: "usage" },
    "unavailable",
    /^Could not read the usage records\. Try again shortly\.$/,
    undefined,
  ],
  [
    {
      kind: "plan-refused",
      callable: "realtimeToken",
      plan: "free",
      refused: { what: "mode", modes: ["brokered"] },
    },
    "failed-precondition",
    /^Your plan \(free\) does not include realtimeToken; it includes brokered calls\.$/,
    { reason: "mode-not-served", served: ["brokered"] },
  ],
  [
    {
      kind: "plan-refused",
      callable: "realtimeCall",
      plan: "free",
      refused: { what: "model", model: "gpt-realtime-2" },
    },
    "failed-precondition",
    /^Your plan \(free\) does not include the model this server runs \(gpt-realtime-2\)/,
    { reason: "plan-model-not-allowed", plan: "free" },
  ],
];

describe("toHttpsError", () => {
  it("covers every kind of the union", () => {
    const kinds = new Set(CASES.map(([failure]) => failure.kind));
    // One entry per member of Failure["kind"]; a new kind without a case fails here.
    const all: Record<Failure["kind"], true> = {
      "signed-out": true,
      "app-check-missing": true,
      "app-check-replayed": true,
      "bad-input": true,
      "mode-not-served": true,
      "plan-refused": true,
      refused: true,
      misconfigured: true,
      "store-unavailable": true,
      "upstream-unavailable": true,
      "call-not-found": true,
      "not-operator": true,
      "call-not-scheduled": true,
      "hangup-failed": true,
    };
    expect([...kinds].sort()).toEqual(Object.keys(all).sort());
  });

  it.each(CASES)("maps %j to its code, text and details", (failure, code, message, details) => {
    const error = toHttpsError(failure);
    expect(error).toBeInstanceOf(HttpsError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.details).toEqual(details);
  });

  it("puts nothing in details beyond what the client acts on", () => {
    const error = toHttpsError({
      kind: "refused",
      refusal: { reason: "ip-rate", retryAfterSeconds: 9 },
    });
    expect(error.details).toEqual({ reason: "ip-rate", retryAfterSeconds: 9 });
    for (const [failure] of CASES) {
      const { details } = toHttpsError(failure);
      const text = JSON.stringify(details ?? {});
      expect(text).not.toMatch(/sk-|ek_|v=0|OPENAI_API_KEY/);
    }
  });

  it("names the caller's way out when a secret is asked of a brokered-only backend", () => {
    const voice = resolveVoiceSettings({
      REALTIME_MODES: "brokered",
      DAILY_VOICE_MINUTES: 1,
      MONTHLY_VOICE_MINUTES: 0,
      MAX_CALL_SECONDS: 4,
      IP_CALLS_PER_MINUTE: 30,
    });
    const error = toHttpsError(modeNotServed("realtimeToken", voice));
    expect(error.code).toBe("failed-precondition");
    expect(error.details).toEqual({ reason: "mode-not-served", served: ["brokered"] });
    expect(error.message).toContain("realtimeCall");
  });
});

describe("exitError", () => {
  it("maps a CallableFailure and passes anything else through unchanged", () => {
    const mapped = exitError(new CallableFailure({ kind: "hangup-failed" }));
    expect(mapped).toBeInstanceOf(HttpsError);
    expect((mapped as HttpsError).code).toBe("unavailable");
    const other = new TypeError("a bug");
    expect(exitError(other)).toBe(other);
  });
});

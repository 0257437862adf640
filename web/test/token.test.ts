import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import type { RealtimeTokenRequest, RealtimeTokenResponse } from "../../functions/src/contract";
import { TokenError, formatWait, toTokenError } from "../src/token/errors";
import { CachedTokenProvider, parseTokenResponse, requestKey } from "../src/token/provider";
import { deferred } from "./fakes";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

function response(n: number, expiresAt: number, voice = "marin"): RealtimeTokenResponse {
  return {
    token: `ek_${n}`,
    expiresAt,
    model: "gpt-realtime-2",
    session: {
      voice,
      outputModality: "audio",
      language: null,
      transcription: true,
      noiseReduction: "near_field",
      turnDetection: "semantic_vad",
      eagerness: "auto",
    },
    quota: { limit: 50, remaining: 50 - n, resetsAt: NOW / 1000 + 3600 },
    choices: { voices: ["marin", "cedar"], languages: ["en"], outputModalities: ["audio", "text"] },
  };
}

/** A backend that mints secrets living `ttlSeconds`, numbered from 1, and records requests. */
function backend(ttlSeconds = 120) {
  const clock = { now: NOW };
  const requests: RealtimeTokenRequest[] = [];
  const fetchToken = async (request: RealtimeTokenRequest) => {
    requests.push(request);
    return response(requests.length, clock.now / 1000 + ttlSeconds, request.voice);
  };
  const provider = new CachedTokenProvider({ fetchToken, now: () => clock.now });
  return { clock, requests, provider };
}

describe("CachedTokenProvider", () => {
  it("reuses a secret until 10 s before it expires", async () => {
    const { clock, requests, provider } = backend(120);
    expect((await provider.get()).token).toBe("ek_1");
    clock.now += 109_999;
    expect((await provider.get()).token).toBe("ek_1");
    expect(requests).toHaveLength(1);
    clock.now += 1; // exactly 10 s left
    expect((await provider.get()).token).toBe("ek_2");
    expect(provider.fetchCount).toBe(2);
  });

  it("honours a custom skew", async () => {
    const clock = { now: NOW };
    let n = 0;
    const provider = new CachedTokenProvider({
      fetchToken: async () => response(++n, NOW / 1000 + 60),
      now: () => clock.now,
      expirySkewMs: 30_000,
    });
    await provider.get();
    clock.now += 30_001;
    expect((await provider.get()).token).toBe("ek_2");
  });

  it("shares one in-flight request between concurrent callers", async () => {
    const gate = deferred<RealtimeTokenResponse>();
    let calls = 0;
    const provider = new CachedTokenProvider({
      fetchToken: () => {
        calls += 1;
        return gate.promise;
      },
      now: () => NOW,
    });
    const a = provider.get({ voice: "marin" });
    const b = provider.get({ voice: "marin" });
    const c = provider.prefetch({ voice: "marin" });
    expect(calls).toBe(1);
    gate.resolve(response(1, NOW / 1000 + 120));
    expect(await a).toBe(await b);
    await c;
    expect(calls).toBe(1);
  });

  it("keys secrets by request, so a new voice gets its own", async () => {
    const { requests, provider } = backend();
    await provider.get({ voice: "marin" });
    await provider.get({ voice: "cedar" });
    await provider.get({ voice: "marin" });
    await provider.get({ outputModality: "audio", voice: "cedar" });
    expect(requests).toEqual([
      { voice: "marin" },
      { voice: "cedar" },
      { outputModality: "audio", voice: "cedar" },
    ]);
    expect(requestKey({ voice: "a", language: "en" })).toBe(
      requestKey({ language: "en", voice: "a", outputModality: undefined }),
    );
  });

  it("prefetch fills the cache so the next get does not wait", async () => {
    const { requests, provider } = backend();
    await provider.prefetch({ voice: "cedar" });
    expect(provider.peek({ voice: "cedar" })?.token).toBe("ek_1");
    expect((await provider.get({ voice: "cedar" })).token).toBe("ek_1");
    expect(requests).toHaveLength(1);
  });

  it("does not cache failures and retries after one", async () => {
    let fail = true;
    let n = 0;
    const provider = new CachedTokenProvider({
      fetchToken: async () => {
        if (fail) throw new FunctionsError("unavailable", "OpenAI is not available right now.");
        return response(++n, NOW / 1000 + 120);
      },
      now: () => NOW,
    });
    await expect(provider.get()).rejects.toMatchObject({ kind: "unavailable" });
    await expect(provider.prefetch()).resolves.toBeUndefined();
    fail = false;
    expect((await provider.get()).token).toBe("ek_1");
  });

  it("waits out a rate limit locally and counts the seconds down", async () => {
    const clock = { now: NOW };
    let calls = 0;
    const provider = new CachedTokenProvider({
      fetchToken: async () => {
        calls += 1;
        if (calls === 1) {
          throw new FunctionsError("resource-exhausted", "Slow down.", {
            reason: "user-interval",
            retryAfterSeconds: 5,
          });
        }
        return response(calls, clock.now / 1000 + 120);
      },
      now: () => clock.now,
    });
    await expect(provider.get()).rejects.toThrow("Try again in 5 s.");
    clock.now += 2_100;
    await expect(provider.get({ voice: "cedar" })).rejects.toThrow("Try again in 3 s.");
    expect(calls).toBe(1);
    clock.now += 2_900;
    expect((await provider.get()).token).toBe("ek_2");
  });

  it("tells listeners about fresh responses only", async () => {
    const { provider } = backend();
    const seen: unknown[] = [];
    provider.onResponse((r, request) => seen.push([r.token, request]));
    await provider.get();
    await provider.get();
    await provider.get({ voice: "cedar" });
    expect(seen).toEqual([
      ["ek_1", {}],
      ["ek_2", { voice: "cedar" }],
    ]);
    expect(provider.latest?.choices.voices).toEqual(["marin", "cedar"]);
  });

  it("rejects a malformed response instead of caching it", async () => {
    const provider = new CachedTokenProvider({
      fetchToken: async () => ({ token: "" }) as unknown as RealtimeTokenResponse,
      now: () => NOW,
    });
    await expect(provider.get()).rejects.toMatchObject({ kind: "misconfigured" });
    expect(() => parseTokenResponse({ token: "ek_1", expiresAt: "soon" })).toThrow(/expiresAt/);
    expect(() => parseTokenResponse({ token: "", expiresAt: 1 })).toThrow(/no token/);
    expect(() => parseTokenResponse(null)).toThrow(/not an object/);
  });
});

describe("toTokenError", () => {
  const cases: [string, FunctionsError, Partial<TokenError>, RegExp][] = [
    [
      "user interval",
      new FunctionsError("resource-exhausted", "x", {
        reason: "user-interval",
        retryAfterSeconds: 4,
      }),
      { kind: "rate-limited" },
      /Try again in 4 s\./,
    ],
    [
      "ip rate",
      new FunctionsError("resource-exhausted", "x", { reason: "ip-rate", retryAfterSeconds: 30 }),
      { kind: "rate-limited" },
      /your network\. Try again in 30 s\./,
    ],
    [
      "upstream rate",
      new FunctionsError("resource-exhausted", "x", {
        reason: "upstream-rate",
        retryAfterSeconds: 2.2,
      }),
      { kind: "rate-limited" },
      /OpenAI .* Try again in 3 s\./,
    ],
    [
      "daily quota",
      new FunctionsError("resource-exhausted", "x", {
        reason: "daily-quota",
        retryAfterSeconds: 3 * 3600 + 5 * 60,
      }),
      { kind: "daily-quota" },
      /today's voice sessions\. Your quota resets in 3 h 5 min\./,
    ],
    [
      "not signed in",
      new FunctionsError("unauthenticated", "Sign in before asking for a realtime token."),
      { kind: "not-signed-in" },
      /not signed in/,
    ],
    [
      "App Check missing",
      new FunctionsError("unauthenticated", "This call needs an App Check token."),
      { kind: "app-check" },
      /App Check.*Reload/,
    ],
    [
      "App Check replayed",
      new FunctionsError("permission-denied", "This App Check token was already used."),
      { kind: "app-check" },
      /Reload the page/,
    ],
    [
      "service down",
      new FunctionsError("unavailable", "OpenAI is not available right now."),
      { kind: "unavailable" },
      /unavailable right now\. Try again/,
    ],
    [
      "timeout",
      new FunctionsError("deadline-exceeded", "deadline-exceeded"),
      { kind: "unavailable" },
      /Try again/,
    ],
    [
      "misconfigured",
      new FunctionsError("internal", "The realtime token service is misconfigured."),
      { kind: "misconfigured" },
      /function logs/,
    ],
    [
      "network",
      new FunctionsError("internal", "internal"),
      { kind: "network" },
      /Check your connection/,
    ],
    [
      "invalid argument",
      new FunctionsError("invalid-argument", "bad voice", { field: "voice" }),
      { kind: "invalid-request" },
      /"voice" setting/,
    ],
  ];

  for (const [name, error, expected, message] of cases) {
    it(`maps ${name}`, () => {
      const mapped = toTokenError(error);
      expect(mapped).toBeInstanceOf(TokenError);
      expect(mapped).toMatchObject(expected);
      expect(mapped.message).toMatch(message);
      expect(mapped.cause).toBe(error);
    });
  }

  it("reads a bare Unauthenticated for a signed-in user as an App Check failure", () => {
    const bare = new FunctionsError("unauthenticated", "Unauthenticated");
    expect(toTokenError(bare, { signedIn: true })).toMatchObject({ kind: "app-check" });
    expect(toTokenError(bare, { signedIn: false })).toMatchObject({ kind: "not-signed-in" });
    expect(toTokenError(bare)).toMatchObject({ kind: "not-signed-in" });
  });

  it("asks the app whether a user is signed in", async () => {
    let signedIn = true;
    const provider = new CachedTokenProvider({
      fetchToken: async () => {
        throw new FunctionsError("unauthenticated", "Unauthenticated");
      },
      isSignedIn: () => signedIn,
    });
    await expect(provider.get()).rejects.toMatchObject({ kind: "app-check" });
    signedIn = false;
    await expect(provider.get()).rejects.toMatchObject({ kind: "not-signed-in" });
  });

  it("keeps the wait and reason in the details", () => {
    const mapped = toTokenError(
      new FunctionsError("resource-exhausted", "x", { reason: "ip-rate", retryAfterSeconds: 9 }),
    );
    expect(mapped.details).toEqual({
      code: "resource-exhausted",
      reason: "ip-rate",
      retryAfterSeconds: 9,
    });
  });

  it("falls back for a limit without details and for unknown errors", () => {
    expect(toTokenError(new FunctionsError("resource-exhausted", "x")).message).toMatch(
      /Try again in a minute/,
    );
    expect(toTokenError(new Error("boom"))).toMatchObject({ kind: "unknown" });
  });

  it("formats waits", () => {
    expect(formatWait(45)).toBe("45 s");
    expect(formatWait(61)).toBe("2 min");
    expect(formatWait(3600)).toBe("1 h");
    expect(formatWait(3661)).toBe("1 h 2 min");
  });
});

import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { deleteApp, initializeApp } from "firebase/app";
import { FunctionsError, connectFunctionsEmulator, getFunctions } from "firebase/functions";
import { describe, expect, it } from "vitest";
import { formatWait, type RealtimeTokenRequest, type RealtimeTokenResponse } from "voice-contract";
import { toTokenError } from "../../src/backend/errors";
import { TokenError } from "../../src/backend/tokenError";
import { callableTokenFetcher } from "../../src/backend/callable";
import { CachedTokenProvider, parseTokenResponse, requestKey } from "../../src/backend/provider";
import { browserSharedSecrets } from "../../src/backend/shared";
import { SERVER_CHOICES, SERVER_SESSION, deferred } from "../fakes";
import { REAL_TIME } from "../timeouts";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

function response(n: number, expiresAtSeconds: number, voice = "marin"): RealtimeTokenResponse {
  return {
    token: `ek_${n}`,
    expiresAtMs: expiresAtSeconds * 1000,
    model: "gpt-realtime-2",
    session: { ...SERVER_SESSION, voice },
    quota: { limit: 50, remaining: 50 - n, resetsAtMs: NOW + 3_600_000 },
    choices: SERVER_CHOICES,
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
    expect((await provider.get()).response.token).toBe("ek_1");
    clock.now += 109_999;
    expect((await provider.get()).response.token).toBe("ek_1");
    expect(requests).toHaveLength(1);
    clock.now += 1; // exactly 10 s left
    expect((await provider.get()).response.token).toBe("ek_2");
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
    expect((await provider.get()).response.token).toBe("ek_2");
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
    expect(await a).toMatchObject({ source: "backend" });
    expect(await b).toMatchObject({ source: "pending" });
    expect((await a).response).toBe((await b).response);
    await c;
    expect(await provider.get({ voice: "marin" })).toMatchObject({ source: "cache" });
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

  it("never hands a secret minted for one turn-taking or noise choice to another", async () => {
    const { requests, provider } = backend();
    const choices: RealtimeTokenRequest[] = [
      {},
      { turnDetection: "server_vad" },
      { turnDetection: "push_to_talk" },
      { turnDetection: "semantic_vad", eagerness: "low" },
      { turnDetection: "semantic_vad", eagerness: "high" },
      { noiseReduction: "far_field" },
      { noiseReduction: "off", turnDetection: "push_to_talk" },
    ];
    const tokens = [];
    for (const request of choices) tokens.push((await provider.get(request)).response.token);
    expect(new Set(tokens).size).toBe(choices.length);
    expect(requests).toEqual(choices);
    // The same choice again is the cached secret.
    expect((await provider.get({ turnDetection: "push_to_talk" })).source).toBe("cache");
    expect(new Set(choices.map(requestKey)).size).toBe(choices.length);
  });

  it("prefetch fills the cache so the next get does not wait", async () => {
    const { requests, provider } = backend();
    await provider.prefetch({ voice: "cedar" });
    expect(provider.peek({ voice: "cedar" })?.token).toBe("ek_1");
    expect((await provider.get({ voice: "cedar" })).response.token).toBe("ek_1");
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
    expect((await provider.get()).response.token).toBe("ek_1");
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
    expect((await provider.get()).response.token).toBe("ek_2");
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
    expect(() => parseTokenResponse({ token: "ek_1", expiresAtMs: "soon" })).toThrow(/expiresAt/);
    expect(() => parseTokenResponse({ token: "", expiresAtMs: 1 })).toThrow(/no token/);
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
      /today's realtime quota\. It resets at midnight UTC, in 3 h 5 min\./,
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
      { kind: "timeout" },
      /^The voice server \(this app's function\) did not answer in time; it may be busy/,
    ],
    [
      "OpenAI late for the function",
      new FunctionsError("unavailable", "OpenAI did not answer in time.", {
        reason: "upstream-timeout",
      }),
      { kind: "timeout" },
      /^OpenAI did not answer the voice server in time\. Try again in a moment\.$/,
    ],
    [
      "misconfigured",
      new FunctionsError("internal", "The realtime token service is misconfigured."),
      { kind: "misconfigured" },
      /function logs/,
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

/** A localStorage and a Web Locks manager shared by the "tabs" of one test. */
function browserProfile() {
  const items = new Map<string, string>();
  const storage = {
    get length() {
      return items.size;
    },
    key: (i: number) => [...items.keys()][i] ?? null,
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
    clear: () => items.clear(),
  } as Storage;
  let chain = Promise.resolve();
  const locks = {
    request: (_name: string, work: () => Promise<unknown>) => {
      const run = chain.then(work);
      chain = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
  } as unknown as LockManager;
  return { items, secrets: browserSharedSecrets(storage, locks) };
}

describe("secrets shared between tabs and reloads", () => {
  /** One page of the app: its own provider over the profile's storage, for user `uid`. */
  function tab(
    profile: ReturnType<typeof browserProfile>,
    server: { mints: number; now: number; intervalMs: number; last: number },
    uid = "user_1",
  ) {
    return new CachedTokenProvider({
      fetchToken: async () => {
        // The server's per-user interval, as realtimeToken enforces it.
        if (server.now - server.last < server.intervalMs) {
          throw new FunctionsError("resource-exhausted", "Slow down.", {
            reason: "user-interval",
            retryAfterSeconds: Math.ceil((server.intervalMs - (server.now - server.last)) / 1000),
          });
        }
        server.last = server.now;
        return response(++server.mints, server.now / 1000 + 120);
      },
      now: () => server.now,
      shared: { secrets: profile.secrets, scope: () => uid },
    });
  }
  const newServer = () => ({ mints: 0, now: NOW, intervalMs: 5_000, last: -Infinity });

  it("a second tab and a reload use the first tab's secret instead of minting", async () => {
    const profile = browserProfile();
    const server = newServer();
    const first = tab(profile, server);
    expect(await first.get()).toMatchObject({ source: "backend", response: { token: "ek_1" } });
    server.now += 1_000;
    const second = tab(profile, server);
    expect(await second.get()).toMatchObject({ source: "shared", response: { token: "ek_1" } });
    const reloaded = tab(profile, server);
    expect(await reloaded.get()).toMatchObject({ source: "shared", response: { token: "ek_1" } });
    expect(server.mints).toBe(1);
    expect(second.fetchCount + reloaded.fetchCount).toBe(0);
  });

  it("two tabs loading at once mint one secret between them", async () => {
    const profile = browserProfile();
    const server = newServer();
    const [a, b] = await Promise.all([tab(profile, server).get(), tab(profile, server).get()]);
    expect(a.response.token).toBe(b.response.token);
    expect([a.source, b.source].sort()).toEqual(["backend", "shared"]);
    expect(server.mints).toBe(1);
  });

  it("never hands one user's secret to another, nor an expired one", async () => {
    const profile = browserProfile();
    const server = newServer();
    await tab(profile, server, "user_1").get();
    server.now += 6_000;
    expect(await tab(profile, server, "user_2").get()).toMatchObject({ source: "backend" });
    server.now += 110_000; // 10 s before user_1's secret expires
    expect(await tab(profile, server, "user_1").get()).toMatchObject({
      source: "backend",
      response: { token: "ek_3" },
    });
  });

  it("forgets a rejected secret everywhere, and everyone's on a user change", async () => {
    const profile = browserProfile();
    const server = newServer();
    const first = tab(profile, server);
    await first.get();
    server.now += 6_000;
    await tab(profile, server, "user_2").get({ voice: "cedar" });
    first.invalidate({});
    expect(profile.secrets.read("user_1", requestKey({}))).toBeNull();
    expect(profile.secrets.read("user_2", requestKey({ voice: "cedar" }))).not.toBeNull();
    server.now += 6_000;
    await first.get();
    first.invalidate();
    expect(JSON.parse(profile.items.get("realtime-secrets") ?? "")).toEqual({});
  });

  it("waits out a short per-user interval instead of failing, and says so", async () => {
    const server = newServer();
    const waits: number[] = [];
    const slept: number[] = [];
    const provider = new CachedTokenProvider({
      fetchToken: async () => {
        if (server.now - server.last < server.intervalMs) {
          throw new FunctionsError("resource-exhausted", "Slow down.", {
            reason: "user-interval",
            retryAfterSeconds: Math.ceil((server.intervalMs - (server.now - server.last)) / 1000),
          });
        }
        server.last = server.now;
        return response(++server.mints, server.now / 1000 + 120);
      },
      now: () => server.now,
      waitForIntervalSeconds: 6,
      onWait: (seconds) => waits.push(seconds),
      sleep: async (ms) => {
        slept.push(ms);
        server.now += ms;
      },
    });
    await provider.get();
    provider.invalidate(); // OpenAI rejected it: the next Connect needs a new one at once
    server.now += 1_000;
    expect(await provider.get()).toMatchObject({ source: "backend", response: { token: "ek_2" } });
    expect(waits).toEqual([4]);
    expect(slept).toEqual([4_000]);
  });
});

/*
 * The Firebase JS SDK's own errors, produced by really calling: its messages carry the HTTP
 * status ("internal [0]" when nothing answered), which a hand-made FunctionsError would not.
 */
describe("toTokenError with the SDK's real errors", REAL_TIME, () => {
  async function callAt(
    port: number,
    timeout?: number,
  ): Promise<{ error: unknown; mapped: TokenError }> {
    const app = initializeApp(
      { apiKey: "demo", projectId: "demo-sdk", appId: "1:1:web:1" },
      `t${port}-${Math.random()}`,
    );
    const functions = getFunctions(app, "us-central1");
    connectFunctionsEmulator(functions, "127.0.0.1", port);
    const fetchToken = callableTokenFetcher(functions, timeout);
    const error = await fetchToken({}).then(
      () => null,
      (e: unknown) => e,
    );
    await deleteApp(app);
    return { error, mapped: toTokenError(error) };
  }

  async function serve(
    handler: (res: ServerResponse) => void,
  ): Promise<{ port: number; close: () => void }> {
    const server = createServer((_req, res) => {
      res.setHeader("access-control-allow-origin", "*");
      handler(res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      port,
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    };
  }

  it("reads a function nobody answers for as unreachable, not misconfigured", async () => {
    const { port, close } = await serve(() => undefined);
    close(); // the port is now refused
    const { error, mapped } = await callAt(port);
    expect(error).toBeInstanceOf(FunctionsError);
    expect(error).toMatchObject({ code: "functions/internal", message: "internal [0]" });
    expect(mapped).toMatchObject({ kind: "unreachable" });
    expect(mapped.message).toBe(
      "Couldn't reach the voice service. Check your connection and try again.",
    );
  });

  it("keeps a deliberate internal error from the server as misconfigured", async () => {
    const { port, close } = await serve((res) =>
      res.writeHead(500, { "content-type": "application/json" }).end(
        JSON.stringify({
          error: { status: "INTERNAL", message: "The OpenAI key was rejected." },
        }),
      ),
    );
    const { error, mapped } = await callAt(port);
    close();
    expect(error).toMatchObject({
      code: "functions/internal",
      message: "The OpenAI key was rejected. [500]",
    });
    expect(mapped).toMatchObject({ kind: "misconfigured" });
  });

  it("bounds a call that never returns with the callable's timeout", async () => {
    const { port, close } = await serve(() => undefined); // holds every request open
    const { error, mapped } = await callAt(port, 300);
    close();
    expect(error).toMatchObject({ code: "functions/deadline-exceeded" });
    expect(mapped).toMatchObject({ kind: "timeout" });
  });
});

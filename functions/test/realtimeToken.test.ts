import { HttpsError } from "firebase-functions/v2/https";
import { describe, expect, it } from "vitest";
import type { MintedSecret, MintRequest } from "../src/openai";
import { UpstreamError } from "../src/openai";
import {
  createRealtimeTokenHandler,
  type HandlerDeps,
  type Log,
  type TokenRequest,
} from "../src/realtimeToken";
import { StoreUnavailableError } from "../src/firestoreOps";
import { ConfigError, type RawSettings, resolveSettings, type Settings } from "../src/settings";
import { unitRawSettings, unitSettings } from "./helpers/settings";
import type { MintStore, Reservation, ReserveInput, ReserveResult } from "../src/store";

const API_KEY = "sk-unit-test-key-0123456789";
const SECRET = "ek_unit_secret_value";
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

const rawSettings: RawSettings = unitRawSettings;
const settings: Settings = unitSettings;

/** An in-memory store that records what the handler asked of it. */
class FakeStore implements MintStore {
  reserved: ReserveInput[] = [];
  refunded: { reservation: Reservation; failure: string }[] = [];
  next: ReserveResult | Error = {
    ok: true,
    reservation: {
      uid: "u1",
      slot: null,
      seq: 1,
      reservedAtMs: NOW,
      remaining: 9,
      deleteAtMs: NOW + 30 * 86_400_000,
    },
  };
  failRefund = false;

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    this.reserved.push(input);
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
  async refund(reservation: Reservation, failure: string): Promise<void> {
    if (this.failRefund) throw new Error("refund failed");
    this.refunded.push({ reservation, failure });
  }
}

class FakeLog implements Log {
  entries: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  info(message: string, fields: Record<string, unknown>) {
    this.entries.push({ level: "info", message, fields });
  }
  warn(message: string, fields: Record<string, unknown>) {
    this.entries.push({ level: "warn", message, fields });
  }
  error(message: string, fields: Record<string, unknown>) {
    this.entries.push({ level: "error", message, fields });
  }
  text(): string {
    return JSON.stringify(this.entries);
  }
}

function setup(overrides: Partial<HandlerDeps> = {}) {
  const store = new FakeStore();
  const log = new FakeLog();
  const mints: MintRequest[] = [];
  let mintResult: MintedSecret | Error = {
    value: SECRET,
    expiresAt: NOW / 1000 + 120,
    model: "gpt-realtime-2",
    requestId: "req_1",
  };
  const deps: HandlerDeps = {
    settings: () => settings,
    apiKey: () => API_KEY,
    store: () => store,
    mint: async (request) => {
      mints.push(request);
      if (mintResult instanceof Error) throw mintResult;
      return mintResult;
    },
    now: () => NOW,
    log,
    ...overrides,
  };
  return {
    handler: createRealtimeTokenHandler(deps),
    store,
    log,
    mints,
    failMint: (error: Error) => {
      mintResult = error;
    },
  };
}

function call(overrides: Partial<TokenRequest> = {}): TokenRequest {
  return {
    data: {},
    auth: { uid: "u1" },
    app: { alreadyConsumed: false },
    rawRequest: { headers: { "x-forwarded-for": "203.0.113.9" } },
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<HttpsError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpsError) return error;
    throw error;
  }
  throw new Error("expected an HttpsError");
}

describe("realtimeToken handler", () => {
  it("mints for a signed-in user and returns what the client needs", async () => {
    const { handler, store, mints, log } = setup();
    const result = await handler(call({ data: { voice: "cedar", language: "de" } }));
    expect(result).toEqual({
      token: SECRET,
      expiresAtMs: NOW + 120_000,
      model: "gpt-realtime-2",
      session: {
        voice: "cedar",
        outputModality: "audio",
        language: "de",
        transcription: true,
        noiseReduction: "near_field",
        turnDetection: "semantic_vad",
        eagerness: "auto",
      },
      quota: { limit: 10, remaining: 9, resetsAtMs: Date.UTC(2026, 10, 24) },
      choices: {
        voices: ["marin", "cedar"],
        languages: ["en", "de"],
        outputModalities: ["audio", "text"],
        noiseReductions: ["near_field", "far_field", "off"],
        turnDetections: ["server_vad", "semantic_vad", "push_to_talk"],
        eagerness: ["low", "medium", "high", "auto"],
        defaults: {
          voice: "marin",
          noiseReduction: "near_field",
          turnDetection: "semantic_vad",
          eagerness: "auto",
        },
      },
    });
    expect(mints).toHaveLength(1);
    expect(mints[0]).toMatchObject({ apiKey: API_KEY, ttlSeconds: 120, timeoutMs: 10_000 });
    expect(mints[0]?.session.audio?.output?.voice).toBe("cedar");
    expect(store.reserved[0]).toMatchObject({
      uid: "u1",
      audit: { model: "gpt-realtime-2", ttlSeconds: 120, retentionDays: 30 },
    });
    expect(store.reserved[0]?.network).toMatch(/^[0-9a-f]{32}$/);
    expect(store.refunded).toHaveLength(0);
    expect(log.entries.map((e) => e.message)).toEqual(["realtime_token_minted"]);
    expect(log.text()).not.toContain(SECRET);
    expect(log.text()).not.toContain(API_KEY);
    expect(log.text()).not.toContain("203.0.113.9");
  });

  it.each([
    ["no auth", { auth: undefined }],
    ["an auth object without a uid (a forged token in the emulator)", { auth: {} }],
    ["an empty uid", { auth: { uid: "" } }],
  ])("rejects %s as unauthenticated before touching anything", async (_name, overrides) => {
    const { handler, store, mints } = setup();
    const error = await rejection(handler(call(overrides)));
    expect(error.code).toBe("unauthenticated");
    expect(error.message).toMatch(/Sign in/);
    expect(store.reserved).toHaveLength(0);
    expect(mints).toHaveLength(0);
  });

  it("offers only what the server allows, with its defaults, and mints push-to-talk without turn detection", async () => {
    const narrow = resolveSettings({
      ...rawSettings,
      ALLOWED_NOISE_REDUCTIONS: "far_field,off",
      DEFAULT_NOISE_REDUCTION: "far_field",
      ALLOWED_TURN_DETECTIONS: "server_vad,push_to_talk",
      DEFAULT_TURN_DETECTION: "server_vad",
      ALLOWED_VAD_EAGERNESS: "low",
      DEFAULT_VAD_EAGERNESS: "low",
    });
    const { handler, mints } = setup({ settings: () => narrow });
    const result = await handler(call({ data: { turnDetection: "push_to_talk" } }));
    expect(result.choices).toMatchObject({
      noiseReductions: ["far_field", "off"],
      turnDetections: ["server_vad", "push_to_talk"],
      eagerness: ["low"],
      defaults: { noiseReduction: "far_field", turnDetection: "server_vad", eagerness: "low" },
    });
    expect(result.session).toMatchObject({
      turnDetection: "push_to_talk",
      eagerness: null,
      noiseReduction: "far_field",
    });
    expect(mints[0]?.session.audio?.input?.turn_detection).toBeNull();
  });

  it("rejects a call without App Check data", async () => {
    const error = await rejection(setup().handler(call({ app: undefined })));
    expect(error.code).toBe("unauthenticated");
    expect(error.message).toMatch(/App Check/);
  });

  it("rejects a replayed App Check token and says how to fix the client", async () => {
    const { handler, store } = setup();
    const error = await rejection(handler(call({ app: { alreadyConsumed: true } })));
    expect(error.code).toBe("permission-denied");
    expect(error.message).toMatch(/limitedUseAppCheckTokens: true/);
    expect(store.reserved).toHaveLength(0);
  });

  it("accepts a consumed token when replay protection is off", async () => {
    const { handler } = setup({ settings: () => ({ ...settings, replayProtection: false }) });
    await expect(handler(call({ app: { alreadyConsumed: true } }))).resolves.toHaveProperty(
      "token",
      SECRET,
    );
  });

  it("rejects a disallowed choice with the field in details, before charging", async () => {
    const { handler, store } = setup();
    const error = await rejection(handler(call({ data: { voice: "marin", instructions: "x" } })));
    expect(error.code).toBe("invalid-argument");
    expect(error.details).toEqual({ field: "instructions" });
    expect(store.reserved).toHaveLength(0);
  });

  it("reports a rate limit with its reason and wait, without minting", async () => {
    const { handler, store, mints } = setup();
    store.next = { ok: false, reason: "user-interval", retryAfterSeconds: 4 };
    const error = await rejection(handler(call()));
    expect(error.code).toBe("resource-exhausted");
    expect(error.details).toEqual({ reason: "user-interval", retryAfterSeconds: 4 });
    expect(error.message).toBe("You are requesting tokens too fast. Try again in 4 s.");
    expect(mints).toHaveLength(0);
  });

  it.each([
    ["daily-quota", /today's realtime quota/],
    ["ip-rate", /from your network/],
  ] as const)("explains a %s limit", async (reason, message) => {
    const { handler, store } = setup();
    store.next = { ok: false, reason, retryAfterSeconds: 30 };
    const error = await rejection(handler(call()));
    expect(error.details).toEqual({ reason, retryAfterSeconds: 30 });
    expect(error.message).toMatch(message);
  });

  it.each([
    [
      new UpstreamError("auth", "OpenAI answered 401: Incorrect API key provided: [redacted]", {
        status: 401,
        requestId: "req_9",
      }),
      "internal",
      undefined,
    ],
    [
      new UpstreamError("rejected", "OpenAI answered 400: bad model", { status: 400 }),
      "internal",
      undefined,
    ],
    // A session field built from the caller's choice: theirs to fix, named.
    [
      new UpstreamError("rejected", "OpenAI answered 400: Invalid value", {
        status: 400,
        code: "invalid_value",
        param: "session.audio.output.voice",
      }),
      "invalid-argument",
      { field: "voice" },
    ],
    [
      new UpstreamError("rate", "OpenAI answered 429", { status: 429, retryAfterSeconds: 12 }),
      "resource-exhausted",
      { reason: "upstream-rate", retryAfterSeconds: 12 },
    ],
    [
      new UpstreamError("unavailable", "OpenAI answered 500", { status: 500 }),
      "unavailable",
      undefined,
    ],
    [
      new UpstreamError("unavailable", "timed out", { timedOut: true }),
      "unavailable",
      { reason: "upstream-timeout" },
    ],
    [new UpstreamError("malformed", "unexpected body"), "unavailable", undefined],
  ])(
    "maps upstream %s, refunds, and logs the status and request id",
    async (upstream, code, details) => {
      const { handler, store, log, failMint } = setup();
      failMint(upstream);
      const error = await rejection(handler(call()));
      expect(error.code).toBe(code);
      expect(error.details).toEqual(details);
      if (code === "internal") expect(error.message).toMatch(/misconfigured/);
      expect(store.refunded).toEqual([
        { reservation: expect.objectContaining({ uid: "u1", seq: 1 }), failure: upstream.kind },
      ]);
      const failed = log.entries.find((e) => e.message === "realtime_token_mint_failed");
      expect(failed?.fields).toMatchObject({
        kind: upstream.kind,
        status: upstream.details.status,
      });
      expect(log.text()).not.toContain(API_KEY);
    },
  );

  it("keeps the upstream error when the refund itself fails", async () => {
    const { handler, store, log, failMint } = setup();
    failMint(new UpstreamError("unavailable", "down", { status: 502 }));
    store.failRefund = true;
    const error = await rejection(handler(call()));
    expect(error.code).toBe("unavailable");
    expect(log.entries.some((e) => e.fields.stage === "refund")).toBe(true);
  });

  it("redacts anything shaped like a credential from logged errors, whatever threw", async () => {
    const { handler, store, log } = setup();
    store.next = new Error(`boom near ${API_KEY} and ${SECRET}`);
    await rejection(handler(call()));
    expect(log.text()).toContain("[redacted]");
    expect(log.text()).not.toContain(API_KEY);
    expect(log.text()).not.toContain(SECRET);
  });

  it("answers unavailable when the limits cannot be checked, and does not mint", async () => {
    const { handler, store, mints } = setup();
    store.next = new Error("firestore down");
    const error = await rejection(handler(call()));
    expect(error.code).toBe("unavailable");
    expect(mints).toHaveLength(0);
  });

  it("refuses to call OpenAI with an empty key, and logs which setting is missing", async () => {
    const { handler, store, mints, log } = setup({ apiKey: () => "" });
    const error = await rejection(handler(call()));
    expect(error.code).toBe("internal");
    expect(mints).toHaveLength(0);
    expect(store.reserved).toHaveLength(0);
    expect(log.entries[0]?.fields.param).toBe("OPENAI_API_KEY");
  });

  it("turns a bad param into a generic error and names the param in the log only", async () => {
    const { handler, log } = setup({
      settings: () => {
        throw new ConfigError("DEFAULT_VOICE", '"x" is not in ALLOWED_VOICES');
      },
    });
    const error = await rejection(handler(call()));
    expect(error.code).toBe("internal");
    expect(error.message).not.toContain("DEFAULT_VOICE");
    expect(log.entries[0]?.fields.param).toBe("DEFAULT_VOICE");
  });

  it("answers unavailable within the store's deadline, and does not mint", async () => {
    const { handler, store, mints, log } = setup();
    store.next = new StoreUnavailableError(
      "Firestore did not answer the reservation within 5000 ms",
    );
    const error = await rejection(handler(call()));
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/usage limits/);
    expect(mints).toHaveLength(0);
    expect(log.entries[0]).toMatchObject({
      message: "realtime_token_store_failed",
      fields: { stage: "reserve", error: expect.stringMatching(/within 5000 ms/) },
    });
  });

  it("writes nothing to the store after the reservation when the secret is returned", async () => {
    const { handler, store } = setup();
    await expect(handler(call())).resolves.toHaveProperty("token", SECRET);
    // The store's only other write is a refund: a successful mint is the reservation alone.
    expect(store.reserved).toHaveLength(1);
    expect(store.refunded).toEqual([]);
  });
});

/**
 * The `realtimeToken` callable: a signed-in user with a valid App Check token gets a
 * short-lived OpenAI Realtime client secret, within per-user, per-network and daily limits.
 *
 * This file wires; the decisions live in policy.ts, session.ts and settings.ts, the I/O in
 * store.ts and openai.ts.
 */
import { HttpsError, onCall } from "firebase-functions/v2/https";
import { CALLABLE_OPTIONS, OPENAI_API_KEY, readRawSettings, readRawVoiceSettings } from "./config";
import type { RateLimitDetails, RealtimeTokenResponse } from "voice-contract";
import {
  admit,
  cloudLog,
  describe,
  type GuardedRequest,
  type Log,
  misconfigured,
  modeNotServed,
  storeUnavailable,
} from "./guards";
import { createOpenAiMinter, type MintedSecret, type Minter, UpstreamError } from "./openai";
import { nextUtcMidnightMs } from "./policy";
import { cachedPreflight } from "./preflight";
import { buildSessionConfig, describeChoices, describeSession, parseTokenRequest } from "./session";
import { resolveSettings, type Settings } from "./settings";
import { resolveVoiceSettings, VoiceConfigError, type VoiceSettings } from "./voiceSettings";
import type * as FirestoreModule from "firebase-admin/firestore";
import type * as StoreModule from "./store";
import type { MintStore, Reservation } from "./store";

export type { Log } from "./guards";

/** The parts of a callable request the handler reads. */
export type TokenRequest = GuardedRequest;

export interface HandlerDeps {
  settings: () => Settings;
  apiKey: () => string;
  store: () => MintStore;
  mint: Minter;
  /**
   * Which modes the backend serves (REALTIME_MODES). Without `secret` this callable refuses:
   * a minted secret would bypass the voice-minute budget of brokered calls.
   */
  modes?: () => VoiceSettings;
  now?: () => number;
  log?: Log;
}

const CALLABLE = "realtimeToken";
const EVENT = "realtime_token";

/** Builds the handler. Everything it touches is injected, so tests can pass fakes. */
export function createRealtimeTokenHandler(deps: HandlerDeps) {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? cloudLog;

  return async function handleRealtimeToken(request: TokenRequest): Promise<RealtimeTokenResponse> {
    const started = now();
    const { uid, settings, input, apiKey, network } = admit(request, {
      callable: CALLABLE,
      event: EVENT,
      settings: deps.settings,
      apiKey: deps.apiKey,
      parse: (data, s: Settings) => parseTokenRequest(data, s.choices),
      log,
    });
    const voice = deps.modes?.();
    if (voice !== undefined && !voice.serveSecret) {
      log.info(`${EVENT}_mode_refused`, { uid });
      throw modeNotServed(CALLABLE, voice);
    }
    const store = deps.store();

    let reserved;
    try {
      reserved = await store.reserve({
        uid,
        network,
        limits: settings.limits,
        audit: {
          model: settings.server.model,
          ttlSeconds: settings.ttlSeconds,
          retentionDays: settings.retentionDays,
        },
      });
    } catch (error) {
      throw storeUnavailable(log, EVENT, { uid, stage: "reserve" }, error);
    }
    if (!reserved.ok) {
      const details: RateLimitDetails = {
        reason: reserved.reason,
        retryAfterSeconds: reserved.retryAfterSeconds,
      };
      log.info(`${EVENT}_limited`, { uid, network, ...details });
      throw new HttpsError("resource-exhausted", limitMessage(details), details);
    }
    const { reservation } = reserved;

    let minted: MintedSecret;
    try {
      minted = await deps.mint({
        apiKey,
        ttlSeconds: settings.ttlSeconds,
        timeoutMs: settings.timeoutMs,
        session: buildSessionConfig(input, settings.server),
      });
    } catch (error) {
      const upstream = error instanceof UpstreamError ? error : undefined;
      log.error(`${EVENT}_mint_failed`, {
        uid,
        kind: upstream?.kind ?? "unknown",
        status: upstream?.details.status,
        requestId: upstream?.details.requestId,
        code: upstream?.details.code,
        error: describe(error),
      });
      await refund(store, reservation, upstream?.kind ?? "unknown", log);
      throw upstreamHttpsError(upstream);
    }

    // Nothing more is written: the reservation's record (`reserved`) already says what a
    // returned secret means (see store.ts), and a write sent with the answer is not reliable.
    log.info(`${EVENT}_minted`, {
      uid,
      network,
      model: minted.model,
      expiresAt: minted.expiresAt,
      remaining: reservation.remaining,
      requestId: minted.requestId,
      latencyMs: now() - started,
    });
    return {
      token: minted.value,
      expiresAtMs: minted.expiresAt * 1000,
      model: minted.model,
      session: describeSession(input, settings.server),
      quota: {
        limit: settings.limits.userDailyQuota,
        remaining: reservation.remaining,
        resetsAtMs: nextUtcMidnightMs(reservation.reservedAtMs),
      },
      choices: describeChoices(settings.choices),
    };
  };
}

/**
 * Hands a reservation back. If that fails the mint stays charged (logged): the limits never
 * count fewer mints than secrets returned.
 */
async function refund(store: MintStore, reservation: Reservation, failure: string, log: Log) {
  try {
    await store.refund(reservation, failure);
  } catch (error) {
    log.error(`${EVENT}_store_failed`, {
      uid: reservation.uid,
      stage: "refund",
      seq: reservation.seq,
      error: describe(error),
    });
  }
}

function limitMessage({ reason, retryAfterSeconds }: RateLimitDetails): string {
  switch (reason) {
    case "user-interval":
      return `You are requesting tokens too fast. Try again in ${retryAfterSeconds} s.`;
    case "daily-quota":
      return `You have used today's realtime quota. It resets at midnight UTC, in ${retryAfterSeconds} s.`;
    case "ip-rate":
      return `Too many requests from your network. Try again in ${retryAfterSeconds} s.`;
    case "upstream-rate":
      return `OpenAI is rate limiting this app. Try again in ${retryAfterSeconds} s.`;
  }
}

function upstreamHttpsError(error: UpstreamError | undefined): HttpsError {
  switch (error?.kind) {
    case "rate": {
      const details: RateLimitDetails = {
        reason: "upstream-rate",
        retryAfterSeconds: error.details.retryAfterSeconds ?? 10,
      };
      return new HttpsError("resource-exhausted", limitMessage(details), details);
    }
    case "auth":
    case "rejected":
      return misconfigured(CALLABLE);
    default:
      return new HttpsError("unavailable", "OpenAI is not available right now. Try again shortly.");
  }
}

let store: MintStore | undefined;

const handler = createRealtimeTokenHandler({
  settings: () => resolveSettings(readRawSettings()),
  apiKey: () => OPENAI_API_KEY.value().trim(),
  // Loaded on first use: deploy-time discovery touches no Firestore, and a cold start loads
  // Firestore's client when the first call needs it.
  store: () => (store ??= loadStore()),
  // OPENAI_BASE_URL in the environment points the SDK at the local stand-in.
  mint: createOpenAiMinter(),
  modes: () => {
    try {
      return resolveVoiceSettings(readRawVoiceSettings());
    } catch (error) {
      if (error instanceof VoiceConfigError) {
        cloudLog.error(`${EVENT}_config`, { param: error.param, problem: error.message });
        throw misconfigured(CALLABLE);
      }
      throw error;
    }
  },
});

function loadStore(): MintStore {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const firestore = require("firebase-admin/firestore") as typeof FirestoreModule;
  // Loads the client's gRPC layer and protos now, so that the first call's deadline measures
  // Firestore's answer, not this instance reading its own code.
  const gapic: unknown = firestore.v1;
  void gapic;
  const { createFirestoreStore } = require("./store") as typeof StoreModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return createFirestoreStore(firestore.getFirestore(), {
    timeoutMs: resolveSettings(readRawSettings()).firestoreTimeoutMs,
  });
}

export const realtimeToken = cachedPreflight(
  onCall(CALLABLE_OPTIONS, (request) => handler(request)),
);

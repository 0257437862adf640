/**
 * The `realtimeToken` callable: a signed-in user with a valid App Check token gets a
 * short-lived OpenAI Realtime client secret, within per-user, per-network and daily limits.
 *
 * This file wires; the decisions live in policy.ts, session.ts and settings.ts, the I/O in
 * store.ts and openai.ts.
 */
import { getFirestore } from "firebase-admin/firestore";
import { logger } from "firebase-functions";
import { HttpsError, onCall } from "firebase-functions/v2/https";
import {
  ALLOWED_ORIGINS,
  APP_CHECK_REPLAY_PROTECTION,
  MAX_INSTANCES,
  OPENAI_API_KEY,
  readRawSettings,
  REGION,
} from "./config";
import { OUTPUT_MODALITIES, type RateLimitDetails, type RealtimeTokenResponse } from "./contract";
import { clientAddress, hashNetwork, networkOf, type RequestAddressInfo } from "./network";
import { createOpenAiMinter, type Minter, redactCredentials, UpstreamError } from "./openai";
import { nextUtcMidnightMs } from "./policy";
import { buildSessionConfig, describeSession, parseTokenRequest } from "./session";
import { ConfigError, resolveSettings, type Settings } from "./settings";
import { createFirestoreStore, type MintStore, type Reservation } from "./store";

/** The parts of a callable request the handler reads. */
export interface TokenRequest {
  data: unknown;
  auth?: { uid?: string | undefined } | undefined;
  app?: { alreadyConsumed?: boolean | undefined } | undefined;
  rawRequest: RequestAddressInfo;
}

/** Structured logging; entries never carry the OpenAI key or a minted secret. */
export interface Log {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface HandlerDeps {
  settings: () => Settings;
  apiKey: () => string;
  store: () => MintStore;
  mint: Minter;
  now?: () => number;
  log?: Log;
}

/** Builds the handler. Everything it touches is injected, so tests can pass fakes. */
export function createRealtimeTokenHandler(deps: HandlerDeps) {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? cloudLog;

  return async function handleRealtimeToken(request: TokenRequest): Promise<RealtimeTokenResponse> {
    const started = now();
    const uid = request.auth?.uid;
    // The emulator decodes but does not verify ID tokens: a forged one arrives without a uid.
    if (typeof uid !== "string" || uid === "") {
      throw new HttpsError("unauthenticated", "Sign in before asking for a realtime token.");
    }

    const settings = loadSettings(deps, log);
    if (request.app === undefined) {
      // enforceAppCheck rejects this before the handler runs; kept in case it is turned off.
      throw new HttpsError("unauthenticated", "This call needs an App Check token.");
    }
    // consumeAppCheckToken only marks a replay; rejecting it is the handler's job.
    if (settings.replayProtection && request.app.alreadyConsumed === true) {
      throw new HttpsError(
        "permission-denied",
        "This App Check token was already used. Call realtimeToken with " +
          "{ limitedUseAppCheckTokens: true } so each call gets a fresh one.",
      );
    }

    const parsed = parseTokenRequest(request.data, settings.choices);
    if (!parsed.ok) {
      throw new HttpsError("invalid-argument", parsed.message, { field: parsed.field });
    }

    const apiKey = deps.apiKey();
    if (apiKey === "") {
      log.error("realtime_token_config", {
        param: "OPENAI_API_KEY",
        problem: "empty; set it with `firebase functions:secrets:set OPENAI_API_KEY`",
      });
      throw misconfigured();
    }

    const address = clientAddress(request.rawRequest);
    const network = address === null ? null : hashNetwork(networkOf(address), apiKey);

    let reserved;
    try {
      reserved = await deps.store().reserve({
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
      log.error("realtime_token_store_failed", { uid, stage: "reserve", error: describe(error) });
      throw new HttpsError("unavailable", "Could not check your usage limits. Try again shortly.");
    }
    if (!reserved.ok) {
      const details: RateLimitDetails = {
        reason: reserved.reason,
        retryAfterSeconds: reserved.retryAfterSeconds,
      };
      log.info("realtime_token_limited", { uid, network, ...details });
      throw new HttpsError("resource-exhausted", limitMessage(details), details);
    }
    const { reservation } = reserved;

    let minted;
    try {
      minted = await deps.mint({
        apiKey,
        ttlSeconds: settings.ttlSeconds,
        timeoutMs: settings.timeoutMs,
        session: buildSessionConfig(parsed.value, settings.server),
      });
    } catch (error) {
      const upstream = error instanceof UpstreamError ? error : undefined;
      log.error("realtime_token_mint_failed", {
        uid,
        kind: upstream?.kind ?? "unknown",
        status: upstream?.details.status,
        requestId: upstream?.details.requestId,
        code: upstream?.details.code,
        error: describe(error),
      });
      await refund(deps.store(), reservation, upstream?.kind ?? "unknown", log);
      throw upstreamHttpsError(upstream);
    }

    log.info("realtime_token_minted", {
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
      expiresAt: minted.expiresAt,
      model: minted.model,
      session: describeSession(parsed.value, settings.server),
      quota: {
        limit: settings.limits.userDailyQuota,
        remaining: reservation.remaining,
        resetsAt: Math.floor(nextUtcMidnightMs(reservation.reservedAtMs) / 1000),
      },
      choices: {
        voices: [...settings.choices.voices],
        languages: [...settings.choices.languages],
        outputModalities: [...OUTPUT_MODALITIES],
      },
    };
  };
}

function loadSettings(deps: HandlerDeps, log: Log): Settings {
  try {
    return deps.settings();
  } catch (error) {
    if (error instanceof ConfigError) {
      log.error("realtime_token_config", { param: error.param, problem: error.message });
      throw misconfigured();
    }
    throw error;
  }
}

function misconfigured(): HttpsError {
  return new HttpsError(
    "internal",
    "The realtime token service is misconfigured. Its logs name the setting to fix.",
  );
}

async function refund(store: MintStore, reservation: Reservation, failure: string, log: Log) {
  try {
    await store.refund(reservation, failure);
  } catch (error) {
    log.error("realtime_token_store_failed", {
      uid: reservation.uid,
      stage: "refund",
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
      return misconfigured();
    default:
      return new HttpsError("unavailable", "OpenAI is not available right now. Try again shortly.");
  }
}

/**
 * Error text for logs: a class and a message, never a stack or request headers, and nothing
 * shaped like a key or a secret, whatever threw.
 */
function describe(error: unknown): string {
  return redactCredentials(
    error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  );
}

/**
 * Cloud Logging entries with the fields at the top level. (`logger.error` would also attach a
 * stack trace of this call site, which says nothing about the failure.)
 */
const cloudLog: Log = {
  info: (message, fields) => logger.write({ severity: "INFO", message, ...fields }),
  warn: (message, fields) => logger.write({ severity: "WARNING", message, ...fields }),
  error: (message, fields) => logger.write({ severity: "ERROR", message, ...fields }),
};

let store: MintStore | undefined;

const handler = createRealtimeTokenHandler({
  settings: () => resolveSettings(readRawSettings()),
  apiKey: () => OPENAI_API_KEY.value().trim(),
  // Lazily, so that deploy-time discovery of this module touches no Firestore.
  store: () => (store ??= createFirestoreStore(getFirestore())),
  // OPENAI_BASE_URL in the environment points the SDK at the local stand-in.
  mint: createOpenAiMinter(),
});

export const realtimeToken = onCall(
  {
    region: REGION,
    cors: ALLOWED_ORIGINS,
    maxInstances: MAX_INSTANCES,
    enforceAppCheck: true,
    consumeAppCheckToken: APP_CHECK_REPLAY_PROTECTION,
    secrets: [OPENAI_API_KEY],
    memory: "256MiB",
    timeoutSeconds: 30,
  },
  (request) => handler(request),
);

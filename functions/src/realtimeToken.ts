/**
 * The `realtimeToken` callable: a signed-in user with a valid App Check token gets a
 * short-lived OpenAI Realtime client secret, within per-user, per-network and daily limits.
 *
 * This file wires the mint into the callable pipeline (pipeline.ts: guards, mode, one error
 * exit); the decisions live in policy.ts, session.ts and settings.ts, the I/O in store.ts and
 * openai.ts.
 */
import { onCall } from "firebase-functions/v2/https";
import { CALLABLE_OPTIONS, OPENAI_API_KEY, readRawSettings, readRawVoiceSettings } from "./config";
import type { LimitReason, RealtimeTokenResponse } from "./contract";
import { fail, type Refusal, upstreamFailure } from "./failure";
import { type Admitted, cloudLog, type GuardedRequest, type Log, storeUnavailable } from "./guards";
import { createOpenAiMinter, type MintedSecret, type Minter } from "./openai";
import { bestEffort, callablePipeline, logUpstreamFailure } from "./pipeline";
import { nextUtcMidnightMs } from "./policy";
import { cachedPreflight } from "./preflight";
import {
  buildSessionConfig,
  describeChoices,
  describeSession,
  parseTokenRequest,
  type SessionChoices,
} from "./session";
import { resolveSettings, type Settings } from "./settings";
import { resolveVoiceSettings, type VoiceSettings } from "./voiceSettings";
import type * as FirestoreModule from "firebase-admin/firestore";
import type * as StoreModule from "./store";
import type { MintStore } from "./store";

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
  return callablePipeline({
    callable: CALLABLE,
    event: EVENT,
    settings: deps.settings,
    apiKey: deps.apiKey,
    parse: (data, s: Settings) => parseTokenRequest(data, s.choices),
    mode: "secret",
    modes: () => deps.modes?.(),
    log,
    run: (admitted) => mintFor(admitted, deps.store(), deps.mint, { now, log }),
  });
}

/** The mint of an admitted request: reserve, mint, and hand the reservation back on failure. */
async function mintFor(
  { uid, settings, input, apiKey, network }: Admitted<Settings, SessionChoices>,
  store: MintStore,
  mint: Minter,
  { now, log }: { now: () => number; log: Log },
): Promise<RealtimeTokenResponse> {
  const started = now();
  const audit = {
    model: settings.server.model,
    ttlSeconds: settings.ttlSeconds,
    retentionDays: settings.retentionDays,
  };
  const reserved = await store
    .reserve({ uid, network, limits: settings.limits, audit })
    .catch((error: unknown) => {
      throw storeUnavailable(log, EVENT, { uid, stage: "reserve" }, error);
    });
  if (!reserved.ok) {
    const { reason, retryAfterSeconds } = reserved;
    log.info(`${EVENT}_limited`, { uid, network, reason, retryAfterSeconds });
    fail({ kind: "refused", refusal: mintRefusal(reason, retryAfterSeconds) });
  }
  const { reservation } = reserved;

  let minted: MintedSecret;
  try {
    minted = await mint({
      apiKey,
      ttlSeconds: settings.ttlSeconds,
      timeoutMs: settings.timeoutMs,
      session: buildSessionConfig(input, settings.server),
    });
  } catch (error) {
    const kind = logUpstreamFailure(log, `${EVENT}_mint_failed`, { uid }, error);
    // If the refund fails the mint stays charged: the limits never count fewer mints than
    // secrets returned.
    await bestEffort(
      log,
      `${EVENT}_store_failed`,
      { uid, stage: "refund", seq: reservation.seq },
      () => store.refund(reservation, kind),
    );
    fail(upstreamFailure(CALLABLE, error));
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
    expiresAt: minted.expiresAt,
    model: minted.model,
    session: describeSession(input, settings.server),
    quota: {
      limit: settings.limits.userDailyQuota,
      remaining: reservation.remaining,
      resetsAt: Math.floor(nextUtcMidnightMs(reservation.reservedAtMs) / 1000),
    },
    choices: describeChoices(settings.choices),
  };
}

/** The refusal of a mint budget's `reason`. */
function mintRefusal(reason: LimitReason, retryAfterSeconds: number): Refusal {
  return reason === "ip-rate"
    ? { reason, counted: "mints", retryAfterSeconds }
    : { reason, retryAfterSeconds };
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
  modes: () => resolveVoiceSettings(readRawVoiceSettings()),
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

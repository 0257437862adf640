/**
 * The `realtimeToken` callable: a signed-in user with a valid App Check token gets a
 * short-lived OpenAI Realtime client secret, within per-user, per-network and daily limits.
 *
 * This file wires the mint step (tokenMint.ts) into the callable pipeline (pipeline.ts:
 * guards, mode, one error exit); the decisions live in policy.ts, session.ts and settings.ts,
 * the I/O in store.ts and openai.ts.
 */
import { onCall } from "firebase-functions/v2/https";
import { CALLABLE_OPTIONS, OPENAI_API_KEY, readRawSettings, readRawVoiceSettings } from "./config";
import type { RealtimeTokenResponse } from "voice-contract";
import { cloudLog, type GuardedRequest, type Log } from "./guards";
import { createOpenAiMinter, type Minter } from "./openai";
import { callablePipeline } from "./pipeline";
import { countRefusal } from "./refusalCount";
import { cachedPreflight } from "./preflight";
import { parseTokenRequest } from "./session";
import { mintSecret } from "./tokenMint";
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
  /** Counts a refusal by reason (refusalCount.ts); without it refusals are only logged. */
  countRefusal?: (reason: string) => Promise<void>;
  now?: () => number;
  log?: Log;
}

const CALLABLE = "realtimeToken";
const EVENT = "realtime_token";

/** Builds the handler. Everything it touches is injected, so tests can pass fakes. */
export function createRealtimeTokenHandler(
  deps: HandlerDeps,
): (request: TokenRequest) => Promise<RealtimeTokenResponse> {
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
    ...(deps.countRefusal !== undefined ? { countRefusal: deps.countRefusal } : {}),
    run: (admitted) =>
      mintSecret(admitted, deps.store(), deps.mint, { now, log, callable: CALLABLE, event: EVENT }),
  });
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
  countRefusal,
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

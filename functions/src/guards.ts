/**
 * The checks every callable of this backend runs before it does anything, and the mapping of
 * what can go wrong to `HttpsError`s: a signed-in uid, App Check with replay protection,
 * settings (a bad param → `internal`, named in the log only), request parsing
 * (→ `invalid-argument` naming the field), the OpenAI key, the caller's hashed network, and a
 * store outage (→ `unavailable`).
 */
import { logger } from "firebase-functions";
import { HttpsError } from "firebase-functions/v2/https";
import type { ModeNotServedDetails, RealtimeMode } from "voice-contract";
import { clientAddress, hashNetwork, networkOf, type RequestAddressInfo } from "./network";
import { redactCredentials, redactSdp } from "./redact";
import { ConfigError } from "./settings";
import type { VoiceSettings } from "./voiceSettings";

/** The parts of a callable request the guards read. */
export interface GuardedRequest {
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

export type ParseResult<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

export interface GuardDeps<S extends { replayProtection: boolean }, T> {
  /** The callable's name, for messages that tell a client developer what to fix. */
  callable: string;
  /** Prefix of log entries, e.g. `realtime_token`. */
  event: string;
  settings: () => S;
  apiKey: () => string;
  parse: (data: unknown, settings: S) => ParseResult<T>;
  log: Log;
}

/** What a request that passed every guard brings. */
export interface Admitted<S, T> {
  uid: string;
  settings: S;
  input: T;
  apiKey: string;
  /** The caller's hashed network (see network.ts), or null when its address is unknown. */
  network: string | null;
}

/** Runs every guard, in the order that charges and reveals the least. Throws `HttpsError`. */
export function admit<S extends { replayProtection: boolean }, T>(
  request: GuardedRequest,
  deps: GuardDeps<S, T>,
): Admitted<S, T> {
  const uid = request.auth?.uid;
  // The emulator decodes but does not verify ID tokens: a forged one arrives without a uid.
  if (typeof uid !== "string" || uid === "") {
    throw new HttpsError("unauthenticated", `Sign in before calling ${deps.callable}.`);
  }

  const settings = loadSettings(deps);
  if (request.app === undefined) {
    // enforceAppCheck rejects this before the handler runs; kept in case it is turned off.
    throw new HttpsError("unauthenticated", "This call needs an App Check token.");
  }
  // consumeAppCheckToken only marks a replay; rejecting it is the handler's job.
  if (settings.replayProtection && request.app.alreadyConsumed === true) {
    throw new HttpsError(
      "permission-denied",
      `This App Check token was already used. Call ${deps.callable} with ` +
        "{ limitedUseAppCheckTokens: true } so each call gets a fresh one.",
    );
  }

  const parsed = deps.parse(request.data, settings);
  if (!parsed.ok) {
    throw new HttpsError("invalid-argument", parsed.message, { field: parsed.field });
  }

  const apiKey = deps.apiKey();
  if (apiKey === "") {
    deps.log.error(`${deps.event}_config`, {
      param: "OPENAI_API_KEY",
      problem: "empty; set it with `firebase functions:secrets:set OPENAI_API_KEY`",
    });
    throw misconfigured(deps.callable);
  }

  const address = clientAddress(request.rawRequest);
  const network = address === null ? null : hashNetwork(networkOf(address), apiKey);
  return { uid, settings, input: parsed.value, apiKey, network };
}

function loadSettings<S extends { replayProtection: boolean }, T>(deps: GuardDeps<S, T>): S {
  try {
    return deps.settings();
  } catch (error) {
    if (error instanceof ConfigError) {
      deps.log.error(`${deps.event}_config`, { param: error.param, problem: error.message });
      throw misconfigured(deps.callable);
    }
    throw error;
  }
}

/** The modes a backend serves, for the refusal of one it does not. */
export function servedModes(voice: VoiceSettings): RealtimeMode[] {
  return [
    ...(voice.serveSecret ? (["secret"] as const) : []),
    ...(voice.serveBrokered ? (["brokered"] as const) : []),
  ];
}

/** `failed-precondition` for a callable whose mode the backend does not serve. */
export function modeNotServed(callable: string, voice: VoiceSettings): HttpsError {
  const served = servedModes(voice);
  const details: ModeNotServedDetails = { reason: "mode-not-served", served };
  const instead =
    served.includes("brokered") && callable === "realtimeToken"
      ? ` Call realtimeCall with your SDP offer instead: this backend opens calls itself and ` +
        "counts voice minutes, so it does not hand out client secrets."
      : " Call realtimeToken instead and open the call with its client secret.";
  return new HttpsError(
    "failed-precondition",
    `${callable} is not served here (REALTIME_MODES serves ${served.join(" and ")}).${instead}`,
    details,
  );
}

/** A misconfiguration the caller cannot fix; the log says what it is. */
export function misconfigured(callable: string): HttpsError {
  return new HttpsError(
    "internal",
    `The ${callable} service is misconfigured. Its logs name the setting to fix.`,
  );
}

/** Logs a store failure (an outage, a timeout, anything it threw) and answers `unavailable`. */
export function storeUnavailable(
  log: Log,
  event: string,
  fields: Record<string, unknown>,
  error: unknown,
  message = "Could not check your usage limits. Try again shortly.",
): HttpsError {
  log.error(`${event}_store_failed`, { ...fields, error: describe(error) });
  return new HttpsError("unavailable", message);
}

/**
 * Error text for logs: a class and a message, never a stack or request headers, and nothing
 * shaped like a key, a secret or SDP, whatever threw.
 */
export function describe(error: unknown): string {
  return redactSdp(
    redactCredentials(error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
  );
}

/**
 * Cloud Logging entries with the fields at the top level. (`logger.error` would also attach a
 * stack trace of this call site, which says nothing about the failure.)
 */
export const cloudLog: Log = {
  info: (message, fields) => logger.write({ severity: "INFO", message, ...fields }),
  warn: (message, fields) => logger.write({ severity: "WARNING", message, ...fields }),
  error: (message, fields) => logger.write({ severity: "ERROR", message, ...fields }),
};

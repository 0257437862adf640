/**
 * The checks every callable of this backend runs before it does anything: a signed-in uid,
 * App Check with replay protection, settings (a bad param is `misconfigured`, named in the log
 * only), request parsing (`bad-input` naming the field), the OpenAI key and the caller's hashed
 * network. What fails is a `Failure` (failure.ts); `httpsErrors.ts` says what the client sees.
 */
import { logger } from "firebase-functions";
import { ConfigError } from "./configError";
import { CallableFailure, fail, type StoreStage } from "./failure";
import { applyPlan, DEFAULT_PLAN, type Plan, type PlannedSettings, resolvePlan } from "./plans";
import { clientAddress, hashNetwork, networkOf, type RequestAddressInfo } from "./network";
import { redactCredentials, redactSdp } from "./redact";

/** The parts of a callable request the guards read. */
export interface GuardedRequest {
  data: unknown;
  /** `token` holds the ID token's claims, among them the plan's (plans.ts). */
  auth?: { uid?: string | undefined; token?: unknown } | undefined;
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

export interface GuardDeps<S extends { replayProtection: boolean } & PlannedSettings, T> {
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
  /** The caller's plan (plans.ts): its name and its rules; `settings` already carry its limits. */
  plan: { name: string; rules: Plan };
  settings: S;
  input: T;
  apiKey: string;
  /** The caller's hashed network (see network.ts), or null when its address is unknown. */
  network: string | null;
}

/** Runs every guard, in the order that charges and reveals the least. Throws {@link CallableFailure}. */
export function admit<S extends { replayProtection: boolean } & PlannedSettings, T>(
  request: GuardedRequest,
  deps: GuardDeps<S, T>,
): Admitted<S, T> {
  const uid = request.auth?.uid;
  // The emulator decodes but does not verify ID tokens: a forged one arrives without a uid.
  if (typeof uid !== "string" || uid === "") fail({ kind: "signed-out", callable: deps.callable });

  const declared = readConfig(deps, deps.settings);
  // Once, here: every step reads the plan's limits from `settings` without knowing plans exist.
  const resolved =
    declared.plans === undefined ? undefined : resolvePlan(request.auth?.token, declared.plans);
  if (resolved?.warning !== undefined)
    deps.log.warn(`${deps.event}_plan_unknown`, { uid, ...resolved.warning });
  const settings = resolved === undefined ? declared : applyPlan(declared, resolved.plan);
  const plan = { name: resolved?.name ?? DEFAULT_PLAN, rules: resolved?.plan ?? {} };
  // enforceAppCheck rejects this before the handler runs; kept in case it is turned off.
  if (request.app === undefined) fail({ kind: "app-check-missing" });
  // consumeAppCheckToken only marks a replay; rejecting it is the handler's job.
  if (settings.replayProtection && request.app.alreadyConsumed === true)
    fail({ kind: "app-check-replayed", callable: deps.callable });

  const parsed = deps.parse(request.data, settings);
  if (!parsed.ok) fail({ kind: "bad-input", field: parsed.field, message: parsed.message });

  const apiKey = deps.apiKey();
  if (apiKey === "") {
    deps.log.error(`${deps.event}_config`, {
      param: "OPENAI_API_KEY",
      problem: "empty; set it with `firebase functions:secrets:set OPENAI_API_KEY`",
    });
    fail({ kind: "misconfigured", callable: deps.callable });
  }

  const address = clientAddress(request.rawRequest);
  const network = address === null ? null : hashNetwork(networkOf(address), apiKey);
  return { uid, plan, settings, input: parsed.value, apiKey, network };
}

/**
 * `read()`, with a {@link ConfigError} logged under `<event>_config` with its param and
 * turned into the `misconfigured` failure, which names no setting.
 */
export function readConfig<R>(
  where: { callable: string; event: string; log: Log },
  read: () => R,
): R {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) {
      where.log.error(`${where.event}_config`, { param: error.param, problem: error.message });
      fail({ kind: "misconfigured", callable: where.callable });
    }
    throw error;
  }
}

/** Logs a store failure (an outage, a timeout, anything it threw) as `<event>_store_failed`. */
export function storeUnavailable(
  log: Log,
  event: string,
  fields: Record<string, unknown>,
  error: unknown,
  stage: StoreStage = "limits",
): CallableFailure {
  log.error(`${event}_store_failed`, { ...fields, error: describe(error) });
  return new CallableFailure({ kind: "store-unavailable", stage });
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

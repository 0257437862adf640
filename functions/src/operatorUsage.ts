/**
 * The `operatorUsage` callable: the last days' calls, minutes and estimated cost by plan,
 * today's top users and refusals by reason, for the operator page. Only an account whose ID
 * token carries the admin claim (`voiceAdmin: true`, set with `npm run plan -- admin`) gets
 * them; anyone else gets `permission-denied`, whatever the page shows.
 *
 * This file wires: the checks follow the other callables' guards (a uid, App Check, then the
 * claim, then the request), the figures are usage.ts's over usageStore.ts's records, and every
 * failure leaves through the one exit (httpsErrors.ts). It needs no OpenAI key.
 */
import { onCall } from "firebase-functions/v2/https";
import {
  ADMIN_CLAIM,
  isRecord,
  OPERATOR_USAGE_FUNCTION,
  type OperatorUsageResponse,
} from "voice-contract";
import { utcDay } from "./calendar";
import { ALLOWED_ORIGINS, MAX_INSTANCES, readRawSettings, REGION } from "./config";
import { fail } from "./failure";
import { cloudLog, describe, type GuardedRequest, type Log, storeUnavailable } from "./guards";
import { exitError } from "./httpsErrors";
import { cachedPreflight } from "./preflight";
import { resolveSettings } from "./settings";
import { aggregateUsage, type DayRange, lastDays, toOperatorResponse, topUsers } from "./usage";
import type { UsageRecords } from "./usageStore";
import type * as AuthModule from "firebase-admin/auth";
import type * as FirestoreModule from "firebase-admin/firestore";
import type * as UsageStoreModule from "./usageStore";

const CALLABLE = OPERATOR_USAGE_FUNCTION;
const EVENT = "operator_usage";

/** The days an `operatorUsage` request covers by default, and at most. */
export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 31;

/** Today's top users the answer names. */
export const TOP_USERS = 10;

/** What the handler touches; tests pass fakes. */
export interface OperatorUsageDeps {
  /** The range's records (usageStore.ts). */
  read: (range: DayRange) => Promise<UsageRecords>;
  /** Email addresses of these uids, where the accounts have one. */
  emails: (uids: string[]) => Promise<Map<string, string>>;
  now?: () => number;
  log?: Log;
}

/** Whether the ID token's claims make the caller an operator. */
export function isOperator(claims: unknown): boolean {
  return isRecord(claims) && claims[ADMIN_CLAIM] === true;
}

/** The request's `days`, or what to tell the caller. */
export function parseOperatorRequest(
  data: unknown,
): { ok: true; days: number } | { ok: false; field: string; message: string } {
  if (data === undefined || data === null) return { ok: true, days: DEFAULT_DAYS };
  if (!isRecord(data))
    return { ok: false, field: "(request)", message: "Send an object, e.g. { days: 30 }." };
  const days = data.days ?? DEFAULT_DAYS;
  if (typeof days !== "number" || !Number.isInteger(days) || days < 1 || days > MAX_DAYS)
    return {
      ok: false,
      field: "days",
      message: `days must be a whole number from 1 to ${MAX_DAYS}, got ${JSON.stringify(days)}.`,
    };
  return { ok: true, days };
}

/** Builds the handler. */
export function createOperatorUsageHandler(
  deps: OperatorUsageDeps,
): (request: GuardedRequest) => Promise<OperatorUsageResponse> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? cloudLog;
  return async (request) => {
    try {
      const uid = request.auth?.uid;
      if (typeof uid !== "string" || uid === "") fail({ kind: "signed-out", callable: CALLABLE });
      if (request.app === undefined) fail({ kind: "app-check-missing" });
      if (!isOperator(request.auth?.token)) {
        log.warn(`${EVENT}_denied`, { uid });
        fail({ kind: "not-operator", callable: CALLABLE });
      }
      const parsed = parseOperatorRequest(request.data);
      if (!parsed.ok) fail({ kind: "bad-input", field: parsed.field, message: parsed.message });

      const nowMs = now();
      const range = lastDays(parsed.days, nowMs);
      const records = await deps.read(range).catch((error: unknown) => {
        throw storeUnavailable(log, EVENT, { uid, stage: "read" }, error, "usage");
      });
      const report = aggregateUsage({ range, ...records, nowMs });
      const today = report.range.to;
      const top = topUsers(
        records.calls.filter((call) => utcDay(call.reservedAtMs) === today),
        TOP_USERS,
      );
      // Names are a courtesy: the figures answer without them.
      const emails = await deps.emails(top.map((user) => user.uid)).catch((error: unknown) => {
        log.warn(`${EVENT}_emails_failed`, { uid, error: describe(error) });
        return new Map<string, string>();
      });
      log.info(`${EVENT}_read`, {
        uid,
        days: parsed.days,
        calls: records.calls.length,
        mints: records.mints.length,
        latencyMs: now() - nowMs,
      });
      return toOperatorResponse(report, top, emails);
    } catch (error) {
      throw exitError(error);
    }
  };
}

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * FIRESTORE_TIMEOUT_MS, or 10 s while a param is bad: the voice callables report bad params
 * (as `misconfigured`, naming it in the log); the operator still gets the figures.
 */
function timeoutMs(): number {
  try {
    return resolveSettings(readRawSettings()).firestoreTimeoutMs;
  } catch {
    return 10_000;
  }
}

const handler = createOperatorUsageHandler({
  async read(range) {
    const firestore = require("firebase-admin/firestore") as typeof FirestoreModule;
    const { readUsage } = require("./usageStore") as typeof UsageStoreModule;
    return readUsage(firestore.getFirestore(), range, { timeoutMs: timeoutMs() });
  },
  async emails(uids) {
    if (uids.length === 0) return new Map();
    const { getAuth } = require("firebase-admin/auth") as typeof AuthModule;
    const { users } = await getAuth().getUsers(uids.map((uid) => ({ uid })));
    return new Map(users.flatMap((user) => (user.email ? [[user.uid, user.email] as const] : [])));
  },
});
/* eslint-enable @typescript-eslint/no-require-imports */

export const operatorUsage = cachedPreflight(
  onCall(
    {
      region: REGION,
      cors: ALLOWED_ORIGINS,
      maxInstances: MAX_INSTANCES,
      enforceAppCheck: true,
      // A read: a replayed App Check token gets nothing a fresh one would not.
      consumeAppCheckToken: false,
      memory: "512MiB",
      timeoutSeconds: 60,
    },
    (request) => handler(request),
  ),
);

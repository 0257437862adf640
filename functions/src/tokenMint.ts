/**
 * `realtimeToken`'s step: reserve a mint within the user's and the network's limits, mint a
 * client secret for the session the server builds, and hand the reservation back when the mint
 * fails (a failed refund leaves it charged: the limits never count fewer mints than secrets
 * returned).
 */
import type { RealtimeTokenResponse } from "voice-contract";
import { fail, upstreamFailure } from "./failure";
import { type Admitted, type Log, storeUnavailable } from "./guards";
import type { MintedSecret, Minter } from "./openai";
import { bestEffort, logUpstreamFailure } from "./pipeline";
import { nextUtcDayMs } from "./calendar";
import {
  buildSessionConfig,
  describeChoices,
  describeSession,
  type SessionChoices,
} from "./session";
import type { Settings } from "./settings";
import type { MintStore } from "./store";

/** What the mint step needs beside its request: the clock, the log and its names. */
export interface MintContext {
  now: () => number;
  log: Log;
  callable: string;
  event: string;
}

/** The mint of an admitted request: reserve, mint, and hand the reservation back on failure. */
export async function mintSecret(
  { uid, plan, settings, input, apiKey, network }: Admitted<Settings, SessionChoices>,
  store: MintStore,
  mint: Minter,
  { now, log, callable, event }: MintContext,
): Promise<RealtimeTokenResponse> {
  const started = now();
  const audit = {
    model: settings.server.model,
    ttlSeconds: settings.ttlSeconds,
    retentionDays: settings.retentionDays,
    plan: plan.name,
  };
  const reserved = await store
    .reserve({ uid, network, limits: settings.limits, audit })
    .catch((error: unknown) => {
      throw storeUnavailable(log, event, { uid, stage: "reserve" }, error);
    });
  if (!reserved.ok) {
    const { reason, retryAfterSeconds } = reserved;
    log.info(`${event}_limited`, { uid, network, reason, retryAfterSeconds });
    fail({ kind: "refused", refusal: { reason, retryAfterSeconds } });
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
    const kind = logUpstreamFailure(log, `${event}_mint_failed`, { uid }, error);
    // If the refund fails the mint stays charged: the limits never count fewer mints than
    // secrets returned.
    await bestEffort(
      log,
      `${event}_store_failed`,
      { uid, stage: "refund", seq: reservation.seq },
      () => store.refund(reservation, kind),
    );
    fail(upstreamFailure(callable, error));
  }

  // Nothing more is written: the reservation's record (`reserved`) already says what a
  // returned secret means (see store.ts), and a write sent with the answer is not reliable.
  log.info(`${event}_minted`, {
    uid,
    network,
    model: minted.model,
    expiresAtMs: minted.expiresAt * 1000,
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
      resetsAtMs: nextUtcDayMs(reservation.reservedAtMs),
    },
    choices: describeChoices(settings.choices),
  };
}

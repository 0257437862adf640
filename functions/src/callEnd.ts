/**
 * `endRealtimeCall`'s step: the caller's own call is hung up upstream, its record ended, and
 * its unused seconds handed back. Idempotent: a call already over is answered as such.
 */
import { type BrokeredSettings, type BrokeredWorld, upstreamOf } from "./brokered";
import { type EndInput, toVoiceMinutes } from "./callRequests";
import type { EndRealtimeCallResponse } from "voice-contract";
import { fail } from "./failure";
import { type Admitted, describe, storeUnavailable } from "./guards";
import type { CallOutcome } from "./minuteStore";
import { claimedEndMs } from "./minutes";
import { hangupProvesEnd, hangUpMeasured, type MeasuredHangup } from "./upstream";

/** Ends the admitted caller's call `input.callId`. */
export async function endCall(
  { uid, settings, input, apiKey }: Admitted<BrokeredSettings, EndInput>,
  world: BrokeredWorld,
  event: string,
): Promise<EndRealtimeCallResponse> {
  const { store: storeOf, log, now } = world;
  const store = storeOf();
  const { callId } = input;
  // Among the caller's own calls only: another user's call id is not found.
  const record = await store.findCall(uid, callId).catch((error: unknown) => {
    throw storeUnavailable(log, event, { uid, stage: "find" }, error, "find-call");
  });
  if (record === undefined) fail({ kind: "call-not-found", callId });

  const alreadyOver = record.status === "ended" || record.status === "failed";
  let confirmed = true;
  let upstreamSeconds: number | undefined;
  if (!alreadyOver) {
    let hungUp: MeasuredHangup;
    // A record of a call opened before Live calls existed names no api: it is a Realtime call.
    const api = "api" in record && record.api !== undefined ? record.api : "realtime";
    try {
      // Hang up first, so that the refund pays back time that really is unused.
      hungUp = await hangUpMeasured(upstreamOf(world, apiKey, api), callId, {
        deadline: now() + settings.timeoutMs,
      });
    } catch (error) {
      log.error(`${event}_hangup_failed`, { uid, callId, error: describe(error) });
      fail({ kind: "hangup-failed" });
    }
    // A 404 proves no end (upstream.ts, hangupProvesEnd), but the page closed its side before
    // asking, and an ended call may answer just that: the record ends as the page asked, marked
    // `upstreamOpen` so that the deadline task still hangs the call up at its deadline.
    confirmed = hangupProvesEnd(hungUp.outcome);
    if (!confirmed)
      log.warn(`${event}_hangup_unconfirmed`, { uid, callId, upstream: hungUp.outcome });
    // Upstream's own count (a Live session's usage) is what it bills: the charge.
    if (hungUp.usageSeconds !== null) upstreamSeconds = hungUp.usageSeconds;
  }

  let outcome: CallOutcome;
  let left;
  try {
    outcome = alreadyOver
      ? { kind: "already", status: record.status === "failed" ? "failed" : "ended" }
      : await store.end({ uid, seq: record.seq }, "user", {
          ...(confirmed ? {} : { upstreamOpen: true as const }),
          ...(upstreamSeconds !== undefined ? { upstreamSeconds } : {}),
          // Charged to when the page ended it (within a bound), not to when this arrived.
          ...(record.status === "live"
            ? { endedAtMs: claimedEndMs(record.startedAtMs, input.endedAfterSeconds, now()) }
            : {}),
        });
    left = await store.remaining(uid, settings.voice.limits);
  } catch (error) {
    throw storeUnavailable(log, event, { uid, seq: record.seq, stage: "end" }, error, "end-call");
  }
  const usedSeconds = outcome.kind === "ended" ? outcome.record.usedSeconds : null;
  const answered = usedSeconds !== null ? "ended" : "already-ended";
  log.info(`${event}_done`, { uid, seq: record.seq, callId, outcome: answered, usedSeconds });
  return { outcome: answered, usedSeconds, minutes: toVoiceMinutes(left) };
}

/**
 * `endRealtimeCall`'s step: the caller's own call is hung up upstream, its record ended, and
 * its unused seconds handed back. Idempotent: a call already over is answered as such.
 */
import type { BrokeredSettings, BrokeredWorld } from "./brokered";
import { type EndInput, toVoiceMinutes } from "./callRequests";
import type { EndRealtimeCallResponse } from "voice-contract";
import { fail } from "./failure";
import { type Admitted, describe, storeUnavailable } from "./guards";
import type { CallOutcome } from "./minuteStore";
import { claimedEndMs } from "./minutes";

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
  if (!alreadyOver) {
    try {
      // Hang up first, so that the refund pays back time that really is unused.
      await world.upstream(apiKey).hangup(callId, { deadline: now() + settings.timeoutMs });
    } catch (error) {
      log.error(`${event}_hangup_failed`, { uid, callId, error: describe(error) });
      fail({ kind: "hangup-failed" });
    }
  }

  let outcome: CallOutcome;
  let left;
  try {
    outcome = alreadyOver
      ? { kind: "already", status: record.status === "failed" ? "failed" : "ended" }
      : await store.end({ uid, seq: record.seq }, "user", {
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

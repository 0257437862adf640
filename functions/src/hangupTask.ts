/**
 * The deadline task of brokered calls (a Cloud Tasks queue function): at a call's deadline it
 * hangs the call up upstream and ends its record as `deadline`. Enqueued by `realtimeCall`,
 * one task per call id.
 *
 * Idempotent: a call known to be over (its page said goodbye and upstream confirmed the
 * hang-up, or a retry of this task got there first) is left alone, and the record's outcome
 * guard (minuteStore.ts) refunds at most once whoever ends it. A failed hang-up or store write
 * throws, so that Cloud Tasks retries; so does a 404 from the hang-up, a few times
 * (`afterDeadlineHangup` in minutes.ts), since it does not prove the call is over.
 * A task dispatched before the deadline (the emulator ignores the schedule) waits for it,
 * bounded by its own timeout, and reads the record again then; one dispatched too early to
 * wait fails and is retried later.
 */
import { onTaskDispatched } from "firebase-functions/v2/tasks";
import { brokeredSettings, minuteStore } from "./brokered";
import { OPENAI_API_KEY, REGION } from "./config";
import { cloudLog, describe, type Log } from "./guards";
import type { HangupTask } from "./hangupQueue";
import type { MinuteStore } from "./minuteStore";
import { afterDeadlineHangup, decideDeadlineTask, leaveToOpener } from "./minutes";
import { sleep } from "./firestoreOps";
import { createOpenAiLiveUpstream } from "./liveUpstream";
import { type BrokeredUpstream, createOpenAiRealtimeUpstream, hangUpMeasured } from "./upstream";
import { isVoiceApi, type VoiceApi } from "voice-contract";

/** The task function's timeout; it waits at most this minus a margin for an early dispatch. */
export const TASK_TIMEOUT_SECONDS = 1800;
const WAIT_MARGIN_MS = 60_000;
const EVENT = "realtime_call_deadline";

export interface TaskDeps {
  store: () => MinuteStore;
  /** The upstream a call on `api` runs on. */
  upstream: (api: VoiceApi) => BrokeredUpstream<unknown>;
  /** Timeout of the hang-up request to upstream. */
  timeoutMs: () => number;
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: Log;
}

/** The task's payload, or null for anything else (logged, not retried: it can never work). */
export function parseHangupTask(data: unknown): HangupTask | null {
  if (typeof data !== "object" || data === null) return null;
  const { uid, seq, callId, deadlineMs, api } = data as Record<string, unknown>;
  if (typeof uid !== "string" || uid === "") return null;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return null;
  if (typeof callId !== "string" || !/^[A-Za-z0-9_-]{1,128}$/.test(callId)) return null;
  if (typeof deadlineMs !== "number" || !Number.isFinite(deadlineMs)) return null;
  if (api !== undefined && !isVoiceApi(api)) return null;
  return { uid, seq, callId, deadlineMs, ...(api !== undefined ? { api } : {}) };
}

/** Thrown to have Cloud Tasks retry the task. */
export class RetryTask extends Error {
  override readonly name = "RetryTask";
}

/** Builds the task handler. Everything it touches is injected. */
export function createHangupTaskHandler(deps: TaskDeps) {
  const now = deps.now ?? Date.now;
  const wait = deps.sleep ?? sleep;
  const log = deps.log ?? cloudLog;
  const maxWaitMs = deps.maxWaitMs ?? TASK_TIMEOUT_SECONDS * 1000 - WAIT_MARGIN_MS;

  return async function handleHangupTask(request: {
    data: unknown;
    /** Cloud Tasks' retry count of this attempt (0 on the first). */
    retryCount?: number | undefined;
  }): Promise<void> {
    const task = parseHangupTask(request.data);
    if (task === null) {
      log.error(`${EVENT}_bad_task`, { problem: "payload is not a hang-up task" });
      return;
    }
    const { uid, seq, callId } = task;
    const store = deps.store();
    const read = () =>
      store.getCall(uid, seq).catch((error: unknown) => {
        log.error(`${EVENT}_store_failed`, { uid, seq, stage: "read", error: describe(error) });
        throw new RetryTask("could not read the call record");
      });
    let record = await read();
    let decision = decideDeadlineTask(task, record, now(), maxWaitMs);
    if (decision.action === "wait") {
      await wait(decision.ms);
      // What the record says at the deadline counts, as when Cloud Tasks dispatches on time: a
      // call whose end was confirmed while this waited is left alone, any other is hung up.
      record = await read();
      const atDeadline = decideDeadlineTask(task, record, now(), maxWaitMs);
      decision = atDeadline.action === "nothing" ? atDeadline : { action: "hang-up" };
    }
    if (decision.action === "nothing") return;
    if (decision.action === "retry-later") {
      log.info(`${EVENT}_early`, { uid, seq, callId, inMs: decision.inMs });
      throw new RetryTask(`dispatched ${decision.inMs} ms before the deadline`);
    }

    // The record names the call's upstream; the task carries it too, for a record not read.
    const api =
      (record !== undefined && "api" in record ? record.api : undefined) ?? task.api ?? "realtime";
    let measured;
    try {
      measured = await hangUpMeasured(deps.upstream(api), callId, {
        deadline: now() + deps.timeoutMs(),
      });
    } catch (error) {
      log.error(`${EVENT}_hangup_failed`, { uid, seq, callId, api, error: describe(error) });
      throw new RetryTask("the hang-up failed");
    }
    const hungUp = measured.outcome;
    const after = afterDeadlineHangup(hungUp, request.retryCount);
    if (after.action === "retry") {
      log.error(`${EVENT}_hangup_failed`, { uid, seq, callId, upstream: hungUp });
      throw new RetryTask(`the hang-up was answered ${hungUp}`);
    }
    if (!after.confirmed)
      log.error(`${EVENT}_unconfirmed`, { uid, seq, callId, retryCount: request.retryCount });
    // The call is hung up; a record its opener may still hand back is left to it for now. Only
    // a record not read as `live` is read again: a live one has no opener left to wait for.
    if (record?.status !== "live" && leaveToOpener(await read(), task.deadlineMs, now())) {
      log.info(`${EVENT}_left_to_opener`, { uid, seq, callId });
      throw new RetryTask("the call's record is still reserved: its opener may hand it back");
    }
    const endedAtMs = now();
    try {
      const outcome = await store.end({ uid, seq }, "deadline", {
        endedAtMs,
        fallback: { callId, deadlineMs: task.deadlineMs },
        ...(measured.usageSeconds !== null ? { upstreamSeconds: measured.usageSeconds } : {}),
      });
      log.info(`${EVENT}_done`, {
        uid,
        seq,
        callId,
        upstream: hungUp,
        api,
        usageSeconds: measured.usageSeconds,
        outcome: outcome.kind,
        lateMs: endedAtMs - task.deadlineMs,
      });
    } catch (error) {
      log.error(`${EVENT}_store_failed`, {
        uid,
        seq,
        callId,
        stage: "end",
        error: describe(error),
      });
      throw new RetryTask("could not end the call record");
    }
  };
}

const handler = createHangupTaskHandler({
  store: minuteStore,
  upstream: (api) =>
    api === "live"
      ? createOpenAiLiveUpstream({ apiKey: OPENAI_API_KEY.value().trim() })
      : createOpenAiRealtimeUpstream({ apiKey: OPENAI_API_KEY.value().trim() }),
  timeoutMs: () => brokeredSettings().timeoutMs,
});

export const hangUpRealtimeCall = onTaskDispatched(
  {
    region: REGION,
    secrets: [OPENAI_API_KEY],
    memory: "256MiB",
    timeoutSeconds: TASK_TIMEOUT_SECONDS,
    retryConfig: { maxAttempts: 20, minBackoffSeconds: 1, maxBackoffSeconds: 60 },
    rateLimits: { maxConcurrentDispatches: 100 },
  },
  (request) => handler(request),
);

/**
 * Brokered calls: `realtimeCall` posts the browser's SDP offer upstream with the server's key
 * and session, within the user's voice-minute budget, and schedules the call's hang-up at its
 * deadline; `endRealtimeCall` lets the call's owner end it early and get the unused seconds
 * back. The deadline task itself is hangupTask.ts.
 *
 * This file wires; the decisions live in minutes.ts, sdp.ts and session.ts, the I/O in
 * minuteStore.ts, upstream.ts and hangupQueue.ts; the settings and the store it shares with
 * the deadline task in brokered.ts.
 */
import { createHash, createHmac } from "node:crypto";
import { HttpsError, onCall } from "firebase-functions/v2/https";
import { brokeredSettings, type BrokeredSettings, HANGUP_FUNCTION, minuteStore } from "./brokered";
import { CALLABLE_OPTIONS, OPENAI_API_KEY, REGION } from "./config";
import type {
  EndRealtimeCallResponse,
  MinuteLimitDetails,
  RealtimeCallPrepared,
  RealtimeCallResponse,
  VoiceMinutes,
} from "voice-contract";
import {
  admit,
  type Admitted,
  cloudLog,
  describe,
  type GuardDeps,
  type GuardedRequest,
  type Log,
  misconfigured,
  modeNotServed,
  storeUnavailable,
} from "./guards";
import { enqueueHangup, hangupQueue, type HangupQueue } from "./hangupQueue";
import type { CallOutcome, HeldCall, MinuteStore } from "./minuteStore";
import { liveCall, sliceLimitedBy, type MinuteLimitReason, type Remaining } from "./minutes";
import { UpstreamError } from "./openai";
import { cachedPreflight } from "./preflight";
import { checkOffer } from "./sdp";
import {
  buildSessionConfig,
  describeChoices,
  describeSession,
  parseTokenRequest,
  type SessionChoices,
} from "./session";
import type { Settings } from "./settings";
import { type BrokeredUpstream, createOpenAiRealtimeUpstream } from "./upstream";

/** What the brokered callables touch; tests pass fakes (test/realtimeCall.test.ts). */
export interface BrokeredDeps {
  settings: () => BrokeredSettings;
  apiKey: () => string;
  store: () => MinuteStore;
  upstream: (apiKey: string) => BrokeredUpstream;
  queue: () => HangupQueue;
  now?: () => number;
  log?: Log;
}

const CALL = "realtimeCall";
const END = "endRealtimeCall";
const EVENT = "realtime_call";
const CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A call to open (an offer and its choices), or a prepare request (nothing to open). */
type CallInput = { kind: "open"; offer: string; choices: SessionChoices } | { kind: "prepare" };

/**
 * Splits the offer from the session choices and checks both, or recognises a prepare request
 * (`{ prepare: true }` and nothing else); never throws.
 */
export function parseCallRequest(
  data: unknown,
  settings: Settings,
): { ok: true; value: CallInput } | { ok: false; field: string; message: string } {
  if (typeof data !== "object" || data === null || Array.isArray(data))
    return {
      ok: false,
      field: "(request)",
      message: `Call ${CALL} with an object: { offer: <SDP offer text>, ...session choices }.`,
    };
  if ("prepare" in data) {
    const { prepare, ...others } = data as Record<string, unknown>;
    if (prepare !== true)
      return {
        ok: false,
        field: "prepare",
        message: "prepare must be true (a request that opens nothing), or left out with an offer.",
      };
    const extra = Object.keys(others);
    if (extra.length > 0)
      return {
        ok: false,
        field: extra[0] ?? "prepare",
        message: `A prepare request carries nothing else: send { prepare: true }, or leave prepare out to open a call (found ${extra.join(", ")}).`,
      };
    return { ok: true, value: { kind: "prepare" } };
  }
  const { offer, ...rest } = data as Record<string, unknown>;
  if (offer === undefined)
    return { ok: false, field: "offer", message: "The request has no offer (the SDP offer text)." };
  const checked = checkOffer(offer);
  if (!checked.ok) return { ok: false, field: "offer", message: checked.message };
  const choices = parseTokenRequest(rest, settings.choices);
  if (!choices.ok) return choices;
  return { ok: true, value: { kind: "open", offer: checked.sdp, choices: choices.value } };
}

function parseEndRequest(
  data: unknown,
): { ok: true; value: { callId: string } } | { ok: false; field: string; message: string } {
  const callId = (data as { callId?: unknown } | null)?.callId;
  if (typeof callId !== "string" || !CALL_ID.test(callId))
    return {
      ok: false,
      field: "callId",
      message: `Call ${END} with { callId }: the callId that ${CALL} returned.`,
    };
  return { ok: true, value: { callId } };
}

/**
 * A stable, non-identifying id of the user for OpenAI's safety checks: a keyed hash of the
 * uid, keyed by the server's key so that it cannot be recomputed from the uid alone.
 */
export function safetyIdentifier(uid: string, apiKey: string): string {
  const key = createHash("sha256").update(`realtimeCall/safety/v1\0${apiKey}`).digest();
  return createHmac("sha256", key).update(uid).digest("hex").slice(0, 32);
}

/** Remaining seconds, as the wire contract carries them. */
export function toVoiceMinutes(left: Remaining): VoiceMinutes {
  return {
    daySeconds: left.daySeconds,
    dayResetsAtMs: left.dayResetsAtMs,
    monthSeconds: left.monthSeconds,
    monthResetsAtMs: left.monthResetsAtMs,
  };
}

function minuteMessage(reason: MinuteLimitReason | "ip-rate", retryAfterSeconds: number): string {
  switch (reason) {
    case "daily-minutes":
      return `You have used today's voice minutes. They come back at midnight UTC, in ${retryAfterSeconds} s.`;
    case "monthly-minutes":
      return `You have used this month's voice minutes. They come back on the 1st (UTC), in ${retryAfterSeconds} s.`;
    case "ip-rate":
      return `Too many calls from your network. Try again in ${retryAfterSeconds} s.`;
  }
}

function upstreamHttpsError(callable: string, error: UpstreamError | undefined): HttpsError {
  switch (error?.kind) {
    case "rate": {
      const details: MinuteLimitDetails = {
        reason: "upstream-rate",
        retryAfterSeconds: error.details.retryAfterSeconds ?? 10,
      };
      return new HttpsError(
        "resource-exhausted",
        `OpenAI is rate limiting this app. Try again in ${details.retryAfterSeconds} s.`,
        details,
      );
    }
    case "auth":
      return misconfigured(callable);
    default:
      return new HttpsError("unavailable", "OpenAI is not available right now. Try again shortly.");
  }
}

/**
 * The prologue of both brokered callables: every guard of {@link admit}, then the mode check
 * (a backend that does not serve brokered calls refuses with `failed-precondition`).
 */
function admitBrokered<T>(
  request: GuardedRequest,
  deps: BrokeredDeps,
  log: Log,
  guard: Pick<GuardDeps<BrokeredSettings, T>, "callable" | "event" | "parse">,
): Admitted<BrokeredSettings, T> {
  const admitted = admit(request, { ...guard, settings: deps.settings, apiKey: deps.apiKey, log });
  if (!admitted.settings.voice.serveBrokered)
    throw modeNotServed(guard.callable, admitted.settings.voice);
  return admitted;
}

/** Builds the `realtimeCall` handler. Everything it touches is injected. */
export function createRealtimeCallHandler(deps: BrokeredDeps) {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? cloudLog;

  /** Hands a slice back; if that fails the charge stays (logged), never a double refund. */
  async function refund(store: MinuteStore, held: HeldCall, failure: string) {
    try {
      await store.fail(held, failure);
    } catch (error) {
      log.error(`${EVENT}_store_failed`, {
        uid: held.uid,
        seq: held.seq,
        stage: "refund",
        error: describe(error),
      });
    }
  }

  /** Hangs up a call the page will never get; logs when even that fails. */
  async function hangUpNow(upstream: BrokeredUpstream, uid: string, callId: string, ms: number) {
    try {
      await upstream.hangup(callId, { deadline: now() + ms });
      return true;
    } catch (error) {
      log.error(`${EVENT}_hangup_failed`, { uid, callId, stage: "abort", error: describe(error) });
      return false;
    }
  }

  /** A prepare request: the caller's minutes and what a call would run; nothing is held. */
  async function prepare(uid: string, settings: BrokeredSettings): Promise<RealtimeCallPrepared> {
    let left;
    try {
      left = await deps.store().remaining(uid, settings.voice.limits);
    } catch (error) {
      throw storeUnavailable(log, EVENT, { uid, stage: "prepare" }, error);
    }
    return {
      prepared: true,
      minutes: toVoiceMinutes(left),
      maxCallSeconds: settings.voice.limits.maxCallSeconds,
      model: settings.server.model,
      choices: describeChoices(settings.choices),
    };
  }

  return async function handleRealtimeCall(
    request: GuardedRequest,
  ): Promise<RealtimeCallResponse | RealtimeCallPrepared> {
    const started = now();
    const { uid, settings, input, apiKey, network } = admitBrokered(request, deps, log, {
      callable: CALL,
      event: EVENT,
      parse: parseCallRequest,
    });
    if (input.kind === "prepare") return prepare(uid, settings);
    const store = deps.store();
    const limits = settings.voice.limits;

    let reserved;
    try {
      reserved = await store.reserve(
        uid,
        limits,
        settings.retentionDays,
        network === null ? null : { network, perMinute: settings.voice.callsPerNetworkPerMinute },
      );
    } catch (error) {
      throw storeUnavailable(log, EVENT, { uid, stage: "reserve" }, error);
    }
    if (!reserved.ok) {
      const details: MinuteLimitDetails = {
        reason: reserved.reason,
        retryAfterSeconds: reserved.retryAfterSeconds,
      };
      log.info(`${EVENT}_limited`, { uid, network, ...details });
      throw new HttpsError(
        "resource-exhausted",
        minuteMessage(reserved.reason, reserved.retryAfterSeconds),
        { ...details, minutes: toVoiceMinutes(reserved.remaining) },
      );
    }
    const { held } = reserved;
    const reservedAt = now();

    const upstream = deps.upstream(apiKey);
    let created;
    try {
      created = await upstream.createCall({
        sdp: input.offer,
        session: buildSessionConfig(input.choices, settings.server),
        safetyIdentifier: safetyIdentifier(uid, apiKey),
        deadline: now() + settings.timeoutMs,
      });
    } catch (error) {
      const upstreamError = error instanceof UpstreamError ? error : undefined;
      log.error(`${EVENT}_upstream_failed`, {
        uid,
        seq: held.seq,
        kind: upstreamError?.kind ?? "unknown",
        status: upstreamError?.details.status,
        requestId: upstreamError?.details.requestId,
        error: describe(error),
      });
      await refund(store, held, upstreamError?.kind ?? "unknown");
      throw upstreamHttpsError(CALL, upstreamError);
    }
    const { callId } = created;

    // Both need only the call id and the deadline, which are known now: the live record's
    // write and the deadline task go out together, and the answer waits for the slower one.
    const answeredAt = now();
    const live = liveCall(held, callId, answeredAt);
    const [startResult, enqueueResult] = await Promise.allSettled([
      store.start(live),
      enqueueHangup(
        deps.queue(),
        { uid, seq: held.seq, callId, deadlineMs: live.deadlineMs },
        { timeoutMs: settings.firestoreTimeoutMs },
      ),
    ]);
    if (enqueueResult.status === "rejected") {
      log.error(`${EVENT}_enqueue_failed`, {
        uid,
        seq: held.seq,
        callId,
        error: describe(enqueueResult.reason),
      });
    }
    if (startResult.status === "rejected") {
      // Without a live record nobody could end this call or refund it: end it now. A task
      // that did get enqueued finds the record failed (or, if even the refund failed, still
      // reserved, and then hangs up a call that is already over and charges nothing more).
      await hangUpNow(upstream, uid, callId, settings.timeoutMs);
      await refund(store, held, "store-unavailable");
      throw storeUnavailable(
        log,
        EVENT,
        { uid, seq: held.seq, stage: "start" },
        startResult.reason,
      );
    }
    if (enqueueResult.status === "rejected") {
      // No task would end the call at its deadline: never hand out an unbounded call.
      await hangUpNow(upstream, uid, callId, settings.timeoutMs);
      try {
        await store.end({ uid, seq: held.seq }, "server", { endedAtMs: live.startedAtMs });
      } catch (storeError) {
        log.error(`${EVENT}_store_failed`, {
          uid,
          seq: held.seq,
          stage: "refund",
          error: describe(storeError),
        });
      }
      throw new HttpsError(
        "unavailable",
        "Could not schedule the end of your call, so it was not opened. Try again shortly.",
      );
    }

    log.info(`${EVENT}_opened`, {
      uid,
      network,
      seq: held.seq,
      callId,
      sliceSeconds: held.reservedSeconds,
      deadlineMs: live.deadlineMs,
      requestId: created.requestId,
      latencyMs: now() - started,
      // Where the wait went: the reservation, upstream's answer, the start write and enqueue.
      stagesMs: {
        reserve: reservedAt - started,
        upstream: answeredAt - reservedAt,
        live: now() - answeredAt,
      },
    });
    return {
      answer: created.answer,
      callId,
      endsAtMs: live.deadlineMs,
      sliceSeconds: held.reservedSeconds,
      model: settings.server.model,
      session: describeSession(input.choices, settings.server),
      minutes: toVoiceMinutes(reserved.remaining),
      limitedBy: sliceLimitedBy(reserved.remaining),
      choices: describeChoices(settings.choices),
    };
  };
}

/** Builds the `endRealtimeCall` handler. */
export function createEndRealtimeCallHandler(deps: BrokeredDeps) {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? cloudLog;
  const event = "end_realtime_call";

  return async function handleEndRealtimeCall(
    request: GuardedRequest,
  ): Promise<EndRealtimeCallResponse> {
    const { uid, settings, input, apiKey } = admitBrokered(request, deps, log, {
      callable: END,
      event,
      parse: parseEndRequest,
    });
    const store = deps.store();
    const limits = settings.voice.limits;

    let record;
    try {
      // Among the caller's own calls only: another user's call id is not found.
      record = await store.findCall(uid, input.callId);
    } catch (error) {
      throw storeUnavailable(
        log,
        event,
        { uid, stage: "find" },
        error,
        "Could not end the call. Try again shortly.",
      );
    }
    if (record === undefined)
      throw new HttpsError("not-found", `You have no call with the id ${input.callId}.`);

    const alreadyOver = record.status === "ended" || record.status === "failed";
    if (!alreadyOver) {
      try {
        // Hang up first, so that the refund pays back time that really is unused.
        await deps.upstream(apiKey).hangup(input.callId, { deadline: now() + settings.timeoutMs });
      } catch (error) {
        log.error(`${event}_hangup_failed`, { uid, callId: input.callId, error: describe(error) });
        throw new HttpsError(
          "unavailable",
          "Could not end the call upstream; it still ends at its deadline. Try again shortly.",
        );
      }
    }

    let outcome: CallOutcome;
    let left;
    try {
      outcome = alreadyOver
        ? { kind: "already", status: record.status === "failed" ? "failed" : "ended" }
        : await store.end({ uid, seq: record.seq }, "user");
      left = await store.remaining(uid, limits);
    } catch (error) {
      throw storeUnavailable(
        log,
        event,
        { uid, seq: record.seq, stage: "end" },
        error,
        "The call is over, but its unused minutes could not be handed back yet. Try again shortly.",
      );
    }
    const usedSeconds = outcome.kind === "ended" ? outcome.record.usedSeconds : null;
    log.info(`${event}_done`, {
      uid,
      seq: record.seq,
      callId: input.callId,
      outcome: usedSeconds !== null ? "ended" : "already-ended",
      usedSeconds,
    });
    return {
      outcome: usedSeconds !== null ? "ended" : "already-ended",
      usedSeconds,
      minutes: toVoiceMinutes(left),
    };
  };
}

function deps(callable: string): BrokeredDeps {
  return {
    settings: () => brokeredSettings(callable),
    apiKey: () => OPENAI_API_KEY.value().trim(),
    store: minuteStore,
    // OPENAI_BASE_URL in the environment points the SDK at the local stand-in.
    upstream: (apiKey) => createOpenAiRealtimeUpstream({ apiKey }),
    queue: () => hangupQueue(`locations/${REGION.value()}/functions/${HANGUP_FUNCTION}`),
  };
}

const callHandler = createRealtimeCallHandler(deps(CALL));
const endHandler = createEndRealtimeCallHandler(deps(END));

export const realtimeCall = cachedPreflight(
  onCall(CALLABLE_OPTIONS, (request) => callHandler(request)),
);
export const endRealtimeCall = cachedPreflight(
  onCall(CALLABLE_OPTIONS, (request) => endHandler(request)),
);

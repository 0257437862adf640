/**
 * `realtimeCall`'s step for an offer: reserve a slice of the caller's minutes, post the offer
 * upstream with the server's key and session, then record the call as live and schedule its
 * hang-up at the deadline. Whatever fails after the reservation hands the slice back, and a
 * call that upstream opened but the caller will not get is hung up before the failure is
 * answered, no later than its deadline; if that hang-up is not confirmed, the deadline task
 * (when it was enqueued) still hangs it up.
 */
import type { BrokeredSettings, BrokeredWorld } from "./brokered";
import type { VoiceApi } from "voice-contract";
import { type CallInput, chooseApi, safetyIdentifier, toVoiceMinutes } from "./callRequests";
import type { RealtimeCallResponse } from "voice-contract";
import { fail, upstreamFailure } from "./failure";
import { Deadline } from "./firestoreOps";
import { type Admitted, describe, storeUnavailable } from "./guards";
import { enqueueHangup } from "./hangupQueue";
import type { HeldCall, MinuteStore } from "./minuteStore";
import { type LiveCall, liveCall, type MayRunOn, type Remaining, sliceLimitedBy } from "./minutes";
import { bestEffort, logUpstreamFailure } from "./pipeline";
import { planRefusal } from "./plans";
import { buildLiveSessionConfig, describeLiveSession, liveChoiceProblem } from "./liveSession";
import { buildSessionConfig, describeChoices, describeSession } from "./session";
import { type BrokeredUpstream, type CreatedCall, hangupProvesEnd } from "./upstream";

type OpenInput = Extract<CallInput, { kind: "open" }>;
type Opening = Admitted<BrokeredSettings, OpenInput>;

/** What each stage of an opening call knows, for its log entries and its clean-up. */
interface Context {
  world: BrokeredWorld;
  event: string;
  callable: string;
  store: MinuteStore;
}

/** Opens the admitted caller's call. */
export async function openCall(
  opening: Opening,
  world: BrokeredWorld,
  names: { callable: string; event: string },
): Promise<RealtimeCallResponse> {
  const { uid, settings, input, network } = opening;
  const { now, log } = world;
  const started = now();
  const chosen = chooseApi(input, settings.voice.apis);
  if (!chosen.ok) {
    log.info(`${names.event}_api_refused`, { uid, api: input.api });
    fail(chosen.failure);
  }
  const { api } = chosen;
  const problem = api === "live" ? liveChoiceProblem(input.choices) : undefined;
  if (problem !== undefined) fail({ kind: "bad-input", ...problem });
  const model = api === "live" ? settings.voice.liveModel : settings.server.model;
  // The pipeline checked the plan against REALTIME_MODEL; a Live call runs LIVE_MODEL.
  const refused = api === "live" ? planRefusal(opening.plan.rules, "brokered", model) : undefined;
  if (refused?.refused === "model") {
    log.info(`${names.event}_plan_refused`, { uid, plan: opening.plan.name });
    fail({
      kind: "plan-refused",
      callable: names.callable,
      plan: opening.plan.name,
      refused: { what: "model", model },
    });
  }
  const context: Context = { world, ...names, store: world.store() };
  const { held, remaining } = await reserveSlice(opening, context);
  const reservedAt = now();
  const { upstream, created } = await createCall(opening, api, held, context);
  const answeredAt = now();
  const live = await goLive(opening, held, created.callId, { api, model }, upstream, context);

  log.info(`${names.event}_opened`, {
    uid,
    network,
    seq: held.seq,
    callId: created.callId,
    api,
    model,
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
    callId: created.callId,
    api,
    endsAtMs: live.deadlineMs,
    sliceSeconds: held.reservedSeconds,
    model,
    session:
      api === "live"
        ? describeLiveSession(input.choices)
        : describeSession(input.choices, settings.server),
    minutes: toVoiceMinutes(remaining),
    limitedBy: sliceLimitedBy(remaining),
    choices: describeChoices(settings.choices),
  };
}

/** Holds the call's slice, or fails with the refusal (and the minutes left). */
async function reserveSlice(
  { uid, settings, network }: Opening,
  { store, world, event }: Context,
): Promise<{ held: HeldCall; remaining: Remaining }> {
  const perNetwork =
    network === null ? null : { network, perMinute: settings.voice.callsPerNetworkPerMinute };
  const reserved = await store
    .reserve(uid, settings.voice.limits, settings.retentionDays, perNetwork)
    .catch((error: unknown) => {
      throw storeUnavailable(world.log, event, { uid, stage: "reserve" }, error);
    });
  if (!reserved.ok) {
    const { reason, retryAfterSeconds } = reserved;
    world.log.info(`${event}_limited`, { uid, network, reason, retryAfterSeconds });
    fail({
      kind: "refused",
      refusal: { reason, retryAfterSeconds },
      minutes: toVoiceMinutes(reserved.remaining),
    });
  }
  return { held: reserved.held, remaining: reserved.remaining };
}

/**
 * Posts the offer to `api`'s upstream with the session built for it; on failure hands the
 * slice back. Returns the upstream too, for a hang-up if the call cannot go live.
 */
async function createCall(
  { uid, settings, input, apiKey }: Opening,
  api: VoiceApi,
  held: HeldCall,
  { store, world, event, callable }: Context,
): Promise<{ upstream: BrokeredUpstream<unknown>; created: CreatedCall }> {
  const identifier = safetyIdentifier(uid, apiKey);
  const deadline = world.now() + settings.timeoutMs;
  try {
    if (api === "live") {
      const upstream = world.liveUpstream(apiKey);
      const session = buildLiveSessionConfig(
        input.choices,
        { model: settings.voice.liveModel, instructions: settings.server.instructions },
        input.priorTurns,
        identifier,
      );
      return {
        upstream,
        created: await upstream.createCall({ sdp: input.offer, session, deadline }),
      };
    }
    const upstream = world.upstream(apiKey);
    const created = await upstream.createCall({
      sdp: input.offer,
      session: buildSessionConfig(input.choices, settings.server),
      safetyIdentifier: identifier,
      deadline,
    });
    return { upstream, created };
  } catch (error) {
    const kind = logUpstreamFailure(
      world.log,
      `${event}_upstream_failed`,
      { uid, seq: held.seq, api },
      error,
    );
    await refund(store, held, kind, { world, event });
    fail(upstreamFailure(callable, error));
  }
}

/**
 * Writes the live record and enqueues the deadline task. Both need only the call id and the
 * deadline, which are known now: they go out together, and the answer waits for the slower,
 * but never past the call's deadline (a call the page gets after its slice ran out is of no
 * use, and the server hangs up by then at the latest). Without either the call is hung up and
 * its slice handed back.
 */
async function goLive(
  { uid, settings }: Opening,
  held: HeldCall,
  callId: string,
  on: { api: VoiceApi; model: string },
  upstream: BrokeredUpstream<unknown>,
  { store, world, event }: Context,
): Promise<LiveCall> {
  const { log, now } = world;
  const live = liveCall(held, callId, now(), on);
  const task = {
    uid,
    seq: held.seq,
    callId,
    deadlineMs: live.deadlineMs,
    ...(on.api === "realtime" ? {} : { api: on.api }),
  };
  const untilDeadlineMs = Math.max(0, live.deadlineMs - now());
  const [started, enqueued] = await Promise.allSettled([
    new Deadline(untilDeadlineMs, "the call start before the call's deadline").run(
      store.start(live),
    ),
    enqueueHangup(world.queue(), task, {
      timeoutMs: Math.min(settings.firestoreTimeoutMs, untilDeadlineMs),
    }),
  ]);
  if (enqueued.status === "rejected")
    log.error(`${event}_enqueue_failed`, {
      uid,
      seq: held.seq,
      callId,
      error: describe(enqueued.reason),
    });
  const isLive = started.status === "fulfilled" && started.value === "live";
  if (isLive && enqueued.status === "fulfilled") return live;

  // A call the page will never get.
  const hungUp = await hangUpNow(
    upstream,
    callId,
    { uid, timeoutMs: settings.timeoutMs },
    world,
    event,
  );
  // Not confirmed over: the deadline task, if it was enqueued, still hangs it up.
  const mayRunOn = hungUp ? {} : { upstreamOpen: true as const };
  if (!isLive) {
    // Without a live record nobody could end this call or refund it; and a start write that
    // lands late finds the record settled and writes nothing (minuteStore.ts). A task that did
    // get enqueued finds the record failed (or, if even the refund failed, still reserved, and
    // then hangs up a call that is already over and charges nothing more).
    await refund(store, held, "store-unavailable", { world, event }, mayRunOn);
    const reason =
      started.status === "rejected"
        ? started.reason
        : new Error(`the call record was ${started.value} before the call could be marked live`);
    throw storeUnavailable(log, event, { uid, seq: held.seq, stage: "start" }, reason);
  }
  // No task would end the call at its deadline: never hand out an unbounded call.
  await bestEffort(log, `${event}_store_failed`, { uid, seq: held.seq, stage: "refund" }, () =>
    store.end({ uid, seq: held.seq }, "server", { endedAtMs: live.startedAtMs, ...mayRunOn }),
  );
  fail({ kind: "call-not-scheduled" });
}

/**
 * Hangs up a call the caller will not get. True only when upstream confirmed the end (a 2xx;
 * a 404 proves nothing, upstream.ts); anything else is logged.
 */
async function hangUpNow(
  upstream: BrokeredUpstream<unknown>,
  callId: string,
  { uid, timeoutMs }: { uid: string; timeoutMs: number },
  { log, now }: BrokeredWorld,
  event: string,
): Promise<boolean> {
  const fields = { uid, callId, stage: "abort" };
  try {
    const outcome = await upstream.hangup(callId, { deadline: now() + timeoutMs });
    if (hangupProvesEnd(outcome)) return true;
    log.error(`${event}_hangup_failed`, { ...fields, outcome });
  } catch (error) {
    log.error(`${event}_hangup_failed`, { ...fields, error: describe(error) });
  }
  return false;
}

/** Hands a slice back; if that fails the charge stays (logged), never a double refund. */
function refund(
  store: MinuteStore,
  held: HeldCall,
  failure: string,
  { world, event }: Pick<Context, "world" | "event">,
  mayRunOn: MayRunOn = {},
): Promise<boolean> {
  return bestEffort(
    world.log,
    `${event}_store_failed`,
    { uid: held.uid, seq: held.seq, stage: "refund" },
    () => store.fail(held, failure, mayRunOn),
  );
}

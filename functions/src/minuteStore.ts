/**
 * Firestore side of brokered calls: reserve a call's slice of the voice-minute budget, mark
 * the call live, hand the slice back when upstream never opened it, and end it (refunding the
 * unused seconds). The decisions are minutes.ts's ({@link minuteRule}, the record's
 * transitions); the mechanics (guards, collisions, repair, settlement once, deadlines) are the
 * reservation engine's (reservations.ts). This module says what a call's documents hold.
 *
 * Layout (clients can read and write none of it; see firestore.rules):
 * - `voiceUsers/{uid}`: the call sequence (`seq`) and seconds charged per UTC day
 *   (`d20261130`) and per UTC month (`m202611`)
 * - `voiceUsers/{uid}/calls/{seq}`: the call record: uid, status (`reserved` → `live` →
 *   `ended`, or `reserved` → `failed`), the reserved seconds and when, upstream's call id, when
 *   it started, its deadline, and once over the used and unused seconds and who ended it (and
 *   `upstreamOpen` when it was settled while its call might still run upstream)
 * - `voiceUsers/{uid}/callOutcomes/{seq}`: created by whichever of fail and end comes first;
 *   the other then finds it there, so a call is refunded at most once, whoever ends it and in
 *   whatever order (the end-call callable and the deadline task may both run). The start write
 *   checks that it is absent in its own commit, so a settled record never turns live
 * - the network's slot of the minute, `networkWindows/call-{minute}/slots/{networkHash}-{k}`
 *   (networkSlots.ts, the same claim as mints' but its own allowance, IP_CALLS_PER_MINUTE):
 *   `create()`d first in the reservation's commit, deleted when upstream never opened the call
 *
 * A reservation whose handler stopped before marking the call live or failed is stranded: the
 * engine settles it if its commit lands late while the handler still runs; otherwise the
 * user's next `prepare` hands its slice back once it is stale (minutes.ts's `isStranded`).
 */
import type { Firestore } from "firebase-admin/firestore";
import { Timestamp } from "firebase-admin/firestore";
import { finiteNumber, wholeNumber } from "./budget";
import type { StoreOptions } from "./firestoreOps";
import {
  type CallRecord,
  type Charge,
  endRecord,
  type EndedBy,
  failRecord,
  isStranded,
  type LiveCall,
  type MayRunOn,
  type MinuteGrant,
  type MinuteLimitReason,
  type MinuteLimits,
  minuteRefund,
  minuteRule,
  readMinuteState,
  remaining,
  type Remaining,
  reservedRecord,
  startCall,
} from "./minutes";
import type { HeldSlot } from "./networkSlots";
import { DAY_MS } from "./calendar";
import { isVoiceApi } from "voice-contract";
import {
  createReservationEngine,
  type Held,
  type RecordRef,
  type Settlement,
} from "./reservations";

export const VOICE_USERS = "voiceUsers";

/** A reserved slice, as the handler holds it until the call is live or failed. */
export interface HeldCall extends Charge {
  uid: string;
  /** When the TTL deletes the record (and its outcome). */
  deleteAtMs: number;
  /** The caller's network slot, handed back with the slice if upstream never opens the call. */
  slot?: HeldSlot | null;
}

/** The per-network limit of brokered calls: the caller's hashed network and its allowance. */
export interface CallNetwork {
  network: string;
  /** Calls per network per minute (IP_CALLS_PER_MINUTE). */
  perMinute: number;
}

export type ReserveCallResult =
  | { ok: true; held: HeldCall; remaining: Remaining }
  | {
      ok: false;
      reason: MinuteLimitReason | "ip-rate";
      retryAfterSeconds: number;
      remaining: Remaining;
    };

/**
 * What marking a call live did: `live`; `settled` when the record was already failed or ended
 * (a late start write finds that too, and then writes nothing); `missing` when there is no
 * record (deleted by hand or by its TTL).
 */
export type StartOutcome = "live" | "settled" | "missing";

/** How a call's record ended up after an end or a fail. */
export type CallOutcome =
  /** This request ended it: the unused seconds went back. */
  | { kind: "ended"; record: Extract<CallRecord, { status: "ended" }> }
  /** It had already ended or failed (another request got there first): nothing changed. */
  | { kind: "already"; status: "ended" | "failed" }
  /** No record of that call: nothing to refund. */
  | { kind: "missing" };

export interface MinuteStore {
  /**
   * Reserves the next call's slice and, with a known network, a slot of that network's minute;
   * or says which limit refused it.
   */
  reserve(
    uid: string,
    limits: MinuteLimits,
    retentionDays: number,
    network?: CallNetwork | null,
  ): Promise<ReserveCallResult>;
  /**
   * Marks the call live: writes `live` (minutes.ts's `liveCall`: upstream's call id, when it
   * started, its deadline) over the call's reserved record, unless it is settled already.
   */
  start(live: LiveCall): Promise<StartOutcome>;
  /**
   * The caller never got the call: the whole slice goes back. Idempotent. `mayRunOn` marks a
   * call upstream opened whose hang-up was not confirmed, for the deadline task.
   */
  fail(held: HeldCall, failure: string, mayRunOn?: MayRunOn): Promise<"failed" | "already">;
  /**
   * Ends a call at `endedAtMs` (default now) and hands back its unused seconds. Idempotent.
   * A record still `reserved` (the handler stopped before marking it live) is ended as having
   * used its whole slice, with the `fallback` call id and deadline the task carries.
   * `upstreamOpen` marks a call whose hang-up was not confirmed, for the deadline task.
   */
  end(
    ref: { uid: string; seq: number },
    endedBy: EndedBy,
    options?: EndOptions,
  ): Promise<CallOutcome>;
  /** A user's call record by upstream call id, among that user's calls only. */
  findCall(uid: string, callId: string): Promise<CallRecord | undefined>;
  /** A call record by its owner and sequence number. */
  getCall(uid: string, seq: number): Promise<CallRecord | undefined>;
  /** What a user has left. */
  remaining(uid: string, limits: MinuteLimits): Promise<Remaining>;
  /**
   * Hands back the slices of the user's stranded reservations (minutes.ts's `isStranded`), as
   * `failed` with `abandoned`; returns how many this call settled. Idempotent.
   */
  settleStranded(uid: string): Promise<number>;
}

/** At most this many stranded reservations are settled per visit; the rest on the next. */
const STRANDED_PER_SWEEP = 10;

/** How {@link MinuteStore.end} ends a call. */
export interface EndOptions extends MayRunOn {
  endedAtMs?: number;
  /** Upstream's own count of the call's seconds (a Live session's usage): the charge. */
  upstreamSeconds?: number;
  fallback?: { callId: string; deadlineMs: number };
}

/** Options of {@link createMinuteStore}. */
export type MinuteStoreOptions = StoreOptions;

/** When a record's TTL deletes it: its own `deleteAt`, else a month after its reservation. */
function recordDeleteAt(record: CallRecord & { deleteAtMs?: number }): number {
  return record.deleteAtMs ?? record.reservedAtMs + 31 * DAY_MS;
}

/**
 * A slice handed back because upstream never opened its call: its record `failed`, the whole
 * slice back, its network slot deleted (a call never opened does not count for its network).
 */
function failed(
  held: HeldCall,
  failure: string,
  atMs: number,
  mayRunOn: MayRunOn = {},
): Settlement | undefined {
  const transition = failRecord(reservedRecord(held), failure, mayRunOn);
  if (!transition.changed) return undefined;
  return {
    outcome: { status: "failed", failure },
    atMs,
    deleteAtMs: held.deleteAtMs,
    record: transition.record,
    stampRecord: "refundedAt",
    user: minuteRefund(held, transition.refundSeconds),
    releaseSlot: held.slot ?? null,
  };
}

function heldCall({ grant, ...held }: Held<MinuteGrant>): HeldCall {
  return { ...held, reservedSeconds: grant.reservedSeconds };
}

/** A {@link MinuteStore} on Firestore (or its emulator, or the stand-in). */
export function createMinuteStore(db: Firestore, options: MinuteStoreOptions = {}): MinuteStore {
  const engine = createReservationEngine(
    db,
    { users: VOICE_USERS, records: "calls", outcomes: "callOutcomes", scope: "call" },
    options,
  );
  const stored = (data: Record<string, unknown> | undefined) =>
    data === undefined ? undefined : readRecord(data);

  async function end(ref: RecordRef, endedBy: EndedBy, options: EndOptions): Promise<CallOutcome> {
    const deadline = engine.deadline("the call end");
    const record = stored(await engine.record(ref, deadline));
    if (record === undefined) return { kind: "missing" };
    if (record.status === "ended" || record.status === "failed")
      return { kind: "already", status: record.status };
    const endedAtMs = options.endedAtMs ?? engine.now();
    // Never marked live: count it from its reservation, its whole slice used.
    const fallback = options.fallback;
    const live: LiveCall =
      record.status === "live"
        ? record
        : {
            ...startCall(record, fallback?.callId ?? "", record.reservedAtMs),
            ...(fallback !== undefined ? { deadlineMs: fallback.deadlineMs } : {}),
          };
    const transition = endRecord(
      live,
      record.status === "live" ? endedAtMs : live.startedAtMs + live.reservedSeconds * 1000,
      endedBy,
      record.status === "live" ? options.upstreamSeconds : undefined,
    );
    if (!transition.changed) return { kind: "already", status: "ended" };
    const ended = {
      ...transition.record,
      endedAtMs,
      ...(options.upstreamOpen === true ? { upstreamOpen: true as const } : {}),
    };
    const settled = await engine.settle(
      ref,
      {
        outcome: { status: "ended", endedBy },
        atMs: endedAtMs,
        deleteAtMs: recordDeleteAt(record),
        record: ended,
        user: minuteRefund(ended, transition.refundSeconds),
      },
      deadline,
    );
    if (settled === "settled") return { kind: "ended", record: ended };
    const outcome = await engine.outcome(ref, deadline);
    return { kind: "already", status: outcome?.status === "failed" ? "failed" : "ended" };
  }

  return {
    async reserve(uid, limits, retentionDays, network = null) {
      const result = await engine.reserve(
        {
          uid,
          network:
            network === null ? null : { network: network.network, perWindow: network.perMinute },
          retentionDays,
          rule: minuteRule(uid, limits),
          // Answered as a failure, so no call was opened with it: the whole slice goes back.
          abandoned: (held, atMs) => failed(heldCall(held), "store-unavailable", atMs),
        },
        engine.deadline("the call reservation"),
      );
      if (!result.ok) {
        return {
          ok: false,
          ...result.refusal,
          remaining: remaining(result.state, limits, result.atMs),
        };
      }
      return { ok: true, held: heldCall(result.held), remaining: result.held.grant.remaining };
    },

    async start(live) {
      const written = await engine.updateUnsettled(live, live, engine.deadline("the call start"));
      return written === "updated" ? "live" : written;
    },

    async fail(held, failure, mayRunOn = {}) {
      const settlement = failed(held, failure, engine.now(), mayRunOn);
      if (settlement === undefined) return "already";
      const settled = await engine.settle(held, settlement, engine.deadline("the call refund"));
      return settled === "settled" ? "failed" : "already";
    },

    end(ref, endedBy, endOptions = {}) {
      return end(ref, endedBy, endOptions);
    },

    async findCall(uid, callId) {
      const deadline = engine.deadline("the call lookup");
      return stored(await engine.findRecord(uid, "callId", callId, deadline));
    },

    async getCall(uid, seq) {
      return stored(await engine.record({ uid, seq }, engine.deadline("the call lookup")));
    },

    async settleStranded(uid) {
      const deadline = engine.deadline("the sweep of stranded reservations");
      const nowMs = engine.now();
      const found = await engine.findRecords(
        uid,
        "status",
        "reserved",
        STRANDED_PER_SWEEP,
        deadline,
      );
      let settled = 0;
      for (const data of found) {
        const record = readRecord(data);
        if (record === undefined || !isStranded(record, nowMs)) continue;
        const settlement = failed(
          { ...record, deleteAtMs: recordDeleteAt(record), slot: null },
          "abandoned",
          nowMs,
        );
        if (settlement === undefined) continue;
        if ((await engine.settle(record, settlement, deadline)) === "settled") settled += 1;
      }
      return settled;
    },

    async remaining(uid, limits) {
      const deadline = engine.deadline("the minute lookup");
      const { state, atMs } = await engine.state(uid, readMinuteState, deadline);
      return remaining(state, limits, atMs);
    },
  };
}

/**
 * A stored call record, read defensively: a record edited by hand or written by an older
 * version becomes the phase its fields support, or undefined when nothing usable is there.
 */
export function readRecord(
  data: Record<string, unknown>,
): (CallRecord & { deleteAtMs?: number }) | undefined {
  const uid = typeof data.uid === "string" ? data.uid : undefined;
  const seq = wholeNumber(data.seq);
  const reservedAtMs = finiteNumber(data.reservedAtMs);
  const reservedSeconds = wholeNumber(data.reservedSeconds);
  if (uid === undefined || seq === undefined || reservedAtMs === undefined) return undefined;
  if (reservedSeconds === undefined) return undefined;
  const deleteAt = data.deleteAt instanceof Timestamp ? data.deleteAt.toMillis() : undefined;
  const charge = {
    uid,
    seq,
    reservedAtMs,
    reservedSeconds,
    ...(deleteAt !== undefined ? { deleteAtMs: deleteAt } : {}),
  };
  const callId = typeof data.callId === "string" ? data.callId : undefined;
  const startedAtMs = finiteNumber(data.startedAtMs);
  const deadlineMs = finiteNumber(data.deadlineMs);
  const mayRunOn = data.upstreamOpen === true ? { upstreamOpen: true as const } : {};
  const upstream = {
    ...(isVoiceApi(data.api) ? { api: data.api } : {}),
    ...(typeof data.model === "string" ? { model: data.model } : {}),
  };
  const upstreamSeconds = finiteNumber(data.upstreamSeconds);
  switch (data.status) {
    case "failed":
      return {
        ...charge,
        status: "failed",
        failure: typeof data.failure === "string" ? data.failure : "unknown",
        ...mayRunOn,
      };
    case "ended":
    case "live":
      if (callId === undefined || startedAtMs === undefined || deadlineMs === undefined)
        return { ...charge, status: "reserved" };
      if (data.status === "live")
        return { ...charge, status: "live", callId, startedAtMs, deadlineMs, ...upstream };
      return {
        ...charge,
        status: "ended",
        callId,
        startedAtMs,
        deadlineMs,
        endedAtMs: finiteNumber(data.endedAtMs) ?? deadlineMs,
        endedBy: isEndedBy(data.endedBy) ? data.endedBy : "upstream",
        usedSeconds: wholeNumber(data.usedSeconds) ?? reservedSeconds,
        unusedSeconds: wholeNumber(data.unusedSeconds) ?? 0,
        ...(upstreamSeconds !== undefined ? { upstreamSeconds } : {}),
        ...upstream,
        ...mayRunOn,
      };
    default:
      return { ...charge, status: "reserved" };
  }
}

function isEndedBy(value: unknown): value is EndedBy {
  return value === "user" || value === "deadline" || value === "upstream" || value === "server";
}

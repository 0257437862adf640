/**
 * Hand-written fakes for the brokered-call handlers (realtimeCall.ts, hangupTask.ts): a minute
 * store that keeps its books with the real policy (minutes.ts), an upstream, a task queue and a
 * log, each recording what the handler asked of it and failing on request.
 */
import type { TaskOptions } from "firebase-admin/functions";
import type { Log } from "../../src/guards";
import type { HangupQueue, HangupTask } from "../../src/hangupQueue";
import type {
  CallOutcome,
  EndOptions,
  HeldCall,
  MinuteStore,
  ReserveCallResult,
  StartOutcome,
} from "../../src/minuteStore";
import {
  type CallRecord,
  endCall,
  type EndedBy,
  failCall,
  isStranded,
  type LiveCall,
  type MayRunOn,
  type MinuteLimits,
  type MinuteState,
  remaining,
  type Remaining,
  reserveCall,
  startCall,
} from "../../src/minutes";
import { utcDay } from "../../src/calendar";
import type {
  BrokeredUpstream,
  CreateCallInput,
  CreatedCall,
  HangupOutcome,
  MeasuredHangup,
} from "../../src/upstream";
import type { MediaSessionConfig } from "openai/resources/live/live";

type Method = keyof MinuteStore;

/**
 * A {@link MinuteStore} in memory. Its decisions are minutes.ts's, as in the Firestore store, so
 * what a handler charged and refunded can be read back with {@link FakeMinuteStore.charged}.
 */
export class FakeMinuteStore implements MinuteStore {
  private readonly states = new Map<string, MinuteState>();
  private readonly records = new Map<string, CallRecord>();
  /** Every method call, in order, e.g. `reserve`, `start`, `end user`. */
  readonly calls: string[] = [];
  /** The next call of a method throws this (once). */
  readonly failNext: Partial<Record<Method, Error>> = {};
  /** The next call of a method waits for this before it acts (once). */
  readonly holdNext: Partial<Record<Method, Promise<void>>> = {};

  constructor(private readonly now: () => number) {}

  private enter(method: Method, note = ""): void {
    this.calls.push(note === "" ? method : `${method} ${note}`);
    const error = this.failNext[method];
    if (error !== undefined) {
      delete this.failNext[method];
      throw error;
    }
  }

  private key(uid: string, seq: number): string {
    return `${uid}/${seq}`;
  }

  /** Seconds charged to `uid` today (what the user paid, net of refunds). */
  charged(uid: string): number {
    const state = this.states.get(uid);
    return state?.day === utcDay(this.now()) ? state.daySeconds : 0;
  }

  /** The user's call records, by sequence number. */
  recordsOf(uid: string): CallRecord[] {
    return [...this.records.values()].filter((r) => r.uid === uid).sort((a, b) => a.seq - b.seq);
  }

  async reserve(uid: string, limits: MinuteLimits): Promise<ReserveCallResult> {
    this.enter("reserve");
    const nowMs = this.now();
    const state = this.states.get(uid);
    const decided = reserveCall(state, limits, uid, nowMs);
    if (!decided.ok) return { ...decided, remaining: remaining(state, limits, nowMs) };
    this.states.set(uid, decided.next);
    this.records.set(this.key(uid, decided.record.seq), decided.record);
    const { seq, reservedAtMs, reservedSeconds } = decided.record;
    return {
      ok: true,
      held: { uid, seq, reservedAtMs, reservedSeconds, deleteAtMs: nowMs + 86_400_000 },
      remaining: remaining(decided.next, limits, nowMs),
    };
  }

  async start(live: LiveCall): Promise<StartOutcome> {
    const hold = this.holdNext.start;
    delete this.holdNext.start;
    await hold;
    this.enter("start");
    // As the Firestore store's guarded write: only an unsettled record turns live.
    const record = this.records.get(this.key(live.uid, live.seq));
    if (record === undefined) return "missing";
    if (record.status === "failed" || record.status === "ended") return "settled";
    this.records.set(this.key(live.uid, live.seq), live);
    return "live";
  }

  async fail(held: HeldCall, failure: string, mayRunOn?: MayRunOn): Promise<"failed" | "already"> {
    this.enter("fail", failure);
    const record = this.records.get(this.key(held.uid, held.seq));
    const state = this.states.get(held.uid);
    if (record === undefined || state === undefined) return "already";
    const transition = failCall(state, record, failure, mayRunOn);
    if (!transition.changed) return "already";
    this.states.set(held.uid, transition.state);
    this.records.set(this.key(held.uid, held.seq), transition.record);
    return "failed";
  }

  async end(
    ref: { uid: string; seq: number },
    endedBy: EndedBy,
    options: EndOptions = {},
  ): Promise<CallOutcome> {
    this.enter("end", endedBy);
    const record = this.records.get(this.key(ref.uid, ref.seq));
    const state = this.states.get(ref.uid);
    if (record === undefined || state === undefined) return { kind: "missing" };
    if (record.status === "ended" || record.status === "failed")
      return { kind: "already", status: record.status };
    const live =
      record.status === "live"
        ? record
        : startCall(record, options.fallback?.callId ?? "", record.reservedAtMs);
    const endedAtMs =
      record.status === "live"
        ? (options.endedAtMs ?? this.now())
        : live.startedAtMs + live.reservedSeconds * 1000;
    const transition = endCall(
      state,
      live,
      endedAtMs,
      endedBy,
      record.status === "live" ? options.upstreamSeconds : undefined,
    );
    if (!transition.changed) return { kind: "already", status: "ended" };
    const ended = {
      ...transition.record,
      ...(options.upstreamOpen === true ? { upstreamOpen: true as const } : {}),
    };
    this.states.set(ref.uid, transition.state);
    this.records.set(this.key(ref.uid, ref.seq), ended);
    return { kind: "ended", record: ended };
  }

  async findCall(uid: string, callId: string): Promise<CallRecord | undefined> {
    this.enter("findCall");
    return this.recordsOf(uid).find((r) => "callId" in r && r.callId === callId);
  }

  async getCall(uid: string, seq: number): Promise<CallRecord | undefined> {
    this.enter("getCall");
    return this.records.get(this.key(uid, seq));
  }

  async remaining(uid: string, limits: MinuteLimits): Promise<Remaining> {
    this.enter("remaining");
    return remaining(this.states.get(uid), limits, this.now());
  }

  async settleStranded(uid: string): Promise<number> {
    this.enter("settleStranded");
    let settled = 0;
    for (const record of this.recordsOf(uid)) {
      const state = this.states.get(uid);
      if (state === undefined || !isStranded(record, this.now())) continue;
      const transition = failCall(state, record, "abandoned");
      if (!transition.changed) continue;
      this.states.set(uid, transition.state);
      this.records.set(this.key(uid, record.seq), transition.record);
      settled += 1;
    }
    return settled;
  }
}

/** An upstream that answers from a script and records what it was asked. */
export class FakeUpstream implements BrokeredUpstream {
  readonly name: BrokeredUpstream["name"] = "openai-realtime";
  /** The prefix of the call ids it makes up. */
  protected readonly idPrefix: string = "rtc_fake";
  readonly created: CreateCallInput<unknown>[] = [];
  readonly hungUp: string[] = [];
  /** What the next createCall calls do, in order; then a fresh call each time. */
  readonly createResults: (CreatedCall | Error)[] = [];
  /** What the next hangup calls do, in order; then `ended`. */
  readonly hangupResults: (HangupOutcome | Error)[] = [];
  private count = 0;

  constructor(
    private readonly events: string[] = [],
    private readonly answer = ANSWER_SDP,
  ) {}

  async createCall(input: CreateCallInput<unknown>): Promise<CreatedCall> {
    this.created.push(input);
    this.events.push("createCall");
    const next = this.createResults.shift();
    if (next instanceof Error) throw next;
    return (
      next ?? { answer: this.answer, callId: `${this.idPrefix}${++this.count}`, requestId: "req_1" }
    );
  }

  async hangup(callId: string): Promise<HangupOutcome> {
    this.events.push(`hangup ${callId}`);
    const next = this.hangupResults.shift() ?? "ended";
    if (next instanceof Error) throw next;
    this.hungUp.push(callId);
    return next;
  }
}

/**
 * A GPT-Live upstream: as {@link FakeUpstream}, and its hang-up (the sideband close) reports
 * the session's usage seconds from {@link usageSeconds} (then `null`).
 */
export class FakeLiveUpstream extends FakeUpstream implements BrokeredUpstream<MediaSessionConfig> {
  override readonly name = "openai-live";
  protected override readonly idPrefix = "live_fake";
  /** The usage each next confirmed hang-up reports, in order; then none. */
  readonly usageSeconds: (number | null)[] = [];

  async hangupMeasured(callId: string): Promise<MeasuredHangup> {
    const outcome = await this.hangup(callId);
    return {
      outcome,
      usageSeconds: outcome === "ended" ? (this.usageSeconds.shift() ?? null) : null,
    };
  }
}

/** A task queue that records its tasks, or fails (or never answers) on request. */
export class FakeQueue implements HangupQueue {
  readonly tasks: { data: HangupTask; options: TaskOptions }[] = [];
  /** What the next enqueue does instead of succeeding: throw this, or `hang` forever. */
  readonly failures: (unknown | "hang")[] = [];

  constructor(private readonly events: string[] = []) {}

  enqueue(data: HangupTask, options: TaskOptions): Promise<void> {
    this.events.push("enqueue");
    const failure = this.failures.shift();
    if (failure === "hang") return new Promise<void>(() => {});
    if (failure !== undefined) return Promise.reject(failure);
    this.tasks.push({ data, options });
    return Promise.resolve();
  }
}

export class FakeLog implements Log {
  readonly entries: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  info(message: string, fields: Record<string, unknown>) {
    this.entries.push({ level: "info", message, fields });
  }
  warn(message: string, fields: Record<string, unknown>) {
    this.entries.push({ level: "warn", message, fields });
  }
  error(message: string, fields: Record<string, unknown>) {
    this.entries.push({ level: "error", message, fields });
  }
  messages(): string[] {
    return this.entries.map((e) => e.message);
  }
  text(): string {
    return JSON.stringify(this.entries);
  }
}

/** An SDP answer whose ICE password and fingerprint must never reach a log. */
export const ANSWER_SDP = [
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=ice-ufrag:ansufrag",
  "a=ice-pwd:answer-ice-password-never-logged",
  "a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "",
].join("\r\n");

/**
 * Keeps one conversation going across calls: when a live call drops, opens a new one with
 * bounded backoff (`reconnect.ts` decides whether and when) and replays the conversation so
 * far into it (`restore.ts`). Framework-agnostic; the sessions come from an injected factory,
 * so the SDP exchange (a secret, or a backend that opens brokered calls) is the factory's
 * business, and the clock and the random source are injectable for tests.
 */
import { Emitter, type Listener } from "./emitter";
import { RealtimeConnectError, messageOf } from "./errors";
import {
  DEFAULT_RECONNECT_POLICY,
  classifyDrop,
  decideReconnect,
  type DropClass,
  type ReconnectPolicy,
} from "./reconnect";
import { DEFAULT_RESTORE_BUDGET, restoreContext, type RestoreBudget } from "./restore";
import type { RealtimeSession } from "./session";
import type { Clock, CloseReason, ConversationEntry, TimerHandle } from "./types";
import type { VoiceSession } from "./voiceSession";

/**
 * What the reconnector needs of a session; {@link RealtimeSession} and `LiveSession` are
 * ones. `send` is needed only to replay (`restore: "replay"`).
 */
export type ReconnectableSession = Pick<
  VoiceSession,
  "on" | "connect" | "dispose" | "conversation" | "callId" | "state"
> &
  Partial<Pick<RealtimeSession, "send">>;

/** Options of {@link Reconnector}. */
export interface ReconnectorOptions {
  /**
   * Makes a new, idle session for one call, wired to whatever the caller shows. Called for
   * the first call and for every reconnect; the reconnector connects and disposes it.
   */
  createSession: (history: readonly ConversationEntry[]) => ReconnectableSession;
  /**
   * How a reconnected call gets the conversation so far. `replay` (the default): queued on
   * its channel as `conversation.item.create` events (a Realtime call). `request`: only
   * handed to `createSession` as `history`, the settled turns of the earlier calls, for a
   * session that takes them when it is opened (GPT-Live's prior context; its page may not
   * add items). The first call's `history` is empty either way.
   */
  restore?: "replay" | "request";
  /**
   * What a close reason means for reconnecting. Defaults to {@link classifyDrop} with token
   * failures counted as transient; pass `(reason) => classifyDrop(reason, tokenDropClass)`
   * when the sessions mint secrets with the token provider.
   */
  classify?: (reason: CloseReason) => DropClass;
  /** Defaults to {@link DEFAULT_RECONNECT_POLICY}. */
  policy?: Readonly<ReconnectPolicy>;
  /** How much history to replay; defaults to {@link DEFAULT_RESTORE_BUDGET}. */
  restoreBudget?: Readonly<RestoreBudget>;
  /** Timers for the backoff. Defaults to the global timers. */
  clock?: Pick<Clock, "setTimeout" | "clearTimeout">;
  /** Jitter source in [0, 1). Defaults to `Math.random`. */
  random?: () => number;
}

/** Where the conversation stands, as a user would be told. */
export type ReconnectorState =
  /** Not started, or ended by the user (`stop()`, or a session disposed from outside). */
  | { status: "idle" }
  /** The first call is opening. */
  | { status: "connecting" }
  /** A call is live; `calls` counts the calls this conversation has opened, this one included. */
  | { status: "connected"; callId: string | null; calls: number }
  /**
   * The call dropped (`drop`) and a new one is being opened, or will be after the backoff:
   * try `attempt` of `maxTries`. `lastError` is why the previous try failed, if one did.
   */
  | {
      status: "reconnecting";
      attempt: number;
      maxTries: number;
      drop: CloseReason;
      lastError: RealtimeConnectError | null;
    }
  /** The backend ended the call on purpose (a budget's deadline); nothing reconnects. */
  | { status: "ended"; drop: CloseReason }
  /** The first call could not be opened: nothing to restore, the user starts again. */
  | { status: "failed"; error: RealtimeConnectError }
  /** A try failed in a way that trying again cannot fix (a spent budget, no microphone…). */
  | { status: "gave-up"; reason: "fatal"; drop: CloseReason; error: RealtimeConnectError }
  /**
   * `tries` tries failed; `lastError` is the last one's error (null only when the policy
   * allows no tries at all).
   */
  | {
      status: "gave-up";
      reason: "exhausted";
      tries: number;
      drop: CloseReason;
      lastError: RealtimeConnectError | null;
    };

/** Events of {@link Reconnector}. */
export interface ReconnectorEventMap {
  state: ReconnectorState;
  /** The whole conversation: earlier calls' entries, then the current call's. */
  conversation: readonly ConversationEntry[];
}

/** What exists in each phase; nothing outlives its phase. */
type Phase =
  | { name: "idle" }
  /** `first`: the call that starts the conversation (no retries when it fails). */
  | {
      name: "opening";
      session: ReconnectableSession;
      first: boolean;
      tries: number;
      drop: CloseReason | null;
    }
  | { name: "live"; session: ReconnectableSession; unsubscribe: () => void }
  | { name: "waiting"; timer: TimerHandle }
  | { name: "ended" };

/**
 * One conversation over as many calls as it takes. `start()` opens the first call; when a
 * live call drops without the user asking, a new call is opened after a bounded backoff, the
 * conversation so far is queued on it as `conversation.item.create` events (sent as soon as
 * its channel opens, before anything the user says or types; no `response.create`), and the
 * try count resets once a call is live again. The user's `stop()` never leads to a
 * reconnect, and neither does a failure only the user can fix (see {@link classifyDrop}).
 *
 * @example
 * ```ts
 * const conversation = new Reconnector({ createSession: () => wire(new RealtimeSession(options)) });
 * conversation.on("state", render);
 * await conversation.start();
 * // … Disconnect:
 * conversation.stop();
 * ```
 */
export class Reconnector {
  readonly #options: ReconnectorOptions;
  readonly #policy: Readonly<ReconnectPolicy>;
  readonly #clock: Pick<Clock, "setTimeout" | "clearTimeout">;
  readonly #events = new Emitter<ReconnectorEventMap>();
  #phase: Phase = { name: "idle" };
  #state: ReconnectorState = { status: "idle" };
  /** Entries of the calls that ended, oldest first. */
  #history: ConversationEntry[] = [];
  #calls = 0;
  /** Tells the items of one replay from another's (item ids are unique per conversation). */
  #replays = 0;

  constructor(options: ReconnectorOptions) {
    this.#options = options;
    this.#policy = options.policy ?? DEFAULT_RECONNECT_POLICY;
    this.#clock = options.clock ?? {
      setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
      clearTimeout: (handle) =>
        globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
    };
  }

  get state(): ReconnectorState {
    return this.#state;
  }

  /** The session of the call being opened or live; null between tries and when stopped. */
  get session(): ReconnectableSession | null {
    const phase = this.#phase;
    return phase.name === "opening" || phase.name === "live" ? phase.session : null;
  }

  /** The conversation over every call so far, oldest first. */
  get conversation(): readonly ConversationEntry[] {
    return [...this.#history, ...(this.session?.conversation ?? [])];
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof ReconnectorEventMap>(
    type: K,
    listener: Listener<ReconnectorEventMap[K]>,
  ): () => void {
    return this.#events.on(type, listener);
  }

  /**
   * Opens the first call: resolves once it is live, rejects with its
   * {@link RealtimeConnectError} (state `failed`) when it cannot be opened. The session's
   * `connect()` is called synchronously, so a click that calls this keeps its gesture for the
   * microphone request.
   */
  start(): Promise<void> {
    if (this.#phase.name !== "idle") {
      throw new Error(`start() needs an idle reconnector; this one is ${this.#state.status}.`);
    }
    this.#setState({ status: "connecting" });
    return this.#open(true, 0, null);
  }

  /**
   * After giving up: tries again from the first try, with the conversation restored (what a
   * "Try again" button does). Does nothing in any other state.
   */
  resume(): void {
    const state = this.#state;
    if (state.status !== "gave-up" || this.#phase.name !== "ended") return;
    this.#decide({ kind: "transient" }, 0, state.drop, null);
  }

  /**
   * Ends the conversation as the user's Disconnect: disposes the session, cancels a pending
   * try; nothing reconnects afterwards. Idempotent.
   */
  stop(): void {
    const phase = this.#phase;
    if (phase.name === "idle" && this.#state.status === "idle") return;
    this.#phase = { name: "idle" };
    if (phase.name === "waiting") this.#clock.clearTimeout(phase.timer);
    if (phase.name === "live") {
      phase.unsubscribe();
      this.#history = [...this.#history, ...phase.session.conversation];
    }
    if (phase.name === "opening" || phase.name === "live") phase.session.dispose();
    this.#setState({ status: "idle" });
  }

  // ---- calls ---------------------------------------------------------------------------

  async #open(first: boolean, tries: number, drop: CloseReason | null): Promise<void> {
    const settled = first ? [] : this.#settledHistory();
    const session = this.#options.createSession(settled);
    this.#phase = { name: "opening", session, first, tries, drop };
    const stopConversation = session.on("conversation", () => this.#emitConversation(session));
    if (!first && this.#options.restore !== "request") this.#queueReplay(session, settled);
    try {
      await session.connect();
    } catch (error) {
      stopConversation();
      if (!this.#isOpening(session)) return;
      const connectError =
        error instanceof RealtimeConnectError
          ? error
          : new RealtimeConnectError("channel", "connection", messageOf(error), { cause: error });
      if (first) {
        this.#phase = { name: "ended" };
        this.#setState({ status: "failed", error: connectError });
        throw connectError;
      }
      this.#decide(
        this.#classify({ kind: "connect-failed", error: connectError }),
        tries,
        drop ?? { kind: "connect-failed", error: connectError },
        connectError,
      );
      return;
    }
    if (!this.#isOpening(session)) {
      stopConversation();
      return;
    }
    const stopState = session.on("state", (state) => {
      if (state.status === "closed") this.#dropped(session, state.reason);
    });
    this.#phase = {
      name: "live",
      session,
      unsubscribe: () => {
        stopState();
        stopConversation();
      },
    };
    this.#calls += 1;
    this.#setState({ status: "connected", callId: session.callId, calls: this.#calls });
    // It may have dropped between opening and this continuation, before anyone listened.
    const now = session.state;
    if (now.status === "closed") this.#dropped(session, now.reason);
  }

  #isOpening(session: ReconnectableSession): boolean {
    return this.#phase.name === "opening" && this.#phase.session === session;
  }

  /** The earlier calls' settled turns, replayed into the new call before anything else it sends. */
  #queueReplay(session: ReconnectableSession, settled: ConversationEntry[]): void {
    const plan = restoreContext(settled, this.#options.restoreBudget ?? DEFAULT_RESTORE_BUDGET);
    const replay = ++this.#replays;
    plan.events.forEach((event, index) => {
      // Our own ids: the session then knows the server's echoes for replayed items, not typed
      // messages of its own (session.ts), and a repeated replay cannot duplicate an item.
      session.send?.({ ...event, item: { ...event.item, id: `restored_${replay}_${index}` } });
    });
  }

  /**
   * The earlier calls' turns that a new call continues: only what the user saw settle, not a
   * typed message the old call never confirmed (the transcript marks it and the user can send
   * it again), not an answer cut off by the drop, not a turn still being transcribed.
   */
  #settledHistory(): ConversationEntry[] {
    return this.#history.filter((entry) => {
      switch (entry.kind) {
        case "user":
          return entry.status === "done";
        case "assistant":
          return entry.status !== "in_progress";
        case "tool":
          return entry.status !== "running";
      }
    });
  }

  #dropped(session: ReconnectableSession, reason: CloseReason): void {
    const phase = this.#phase;
    if (phase.name !== "live" || phase.session !== session) return;
    phase.unsubscribe();
    this.#history = [...this.#history, ...session.conversation];
    this.#phase = { name: "ended" };
    this.#decide(this.#classify(reason), 0, reason, null);
  }

  #decide(
    drop: DropClass,
    tries: number,
    reason: CloseReason,
    lastError: RealtimeConnectError | null,
  ): void {
    const random = this.#options.random ?? Math.random;
    const decision = decideReconnect(drop, tries, this.#policy, random);
    switch (decision.action) {
      case "stop":
        this.#phase = { name: "idle" };
        this.#setState({ status: "idle" });
        return;
      case "end":
        this.#phase = { name: "ended" };
        this.#setState({ status: "ended", drop: reason });
        return;
      case "give-up":
        this.#phase = { name: "ended" };
        if (decision.reason === "fatal" && lastError) {
          this.#setState({ status: "gave-up", reason: "fatal", drop: reason, error: lastError });
        } else {
          this.#setState({
            status: "gave-up",
            reason: "exhausted",
            tries: decision.tries,
            drop: reason,
            lastError,
          });
        }
        return;
      case "reconnect": {
        this.#setState({
          status: "reconnecting",
          // The rollover at the session cap spends no try, but it is still the first one.
          attempt: Math.max(1, decision.tries),
          maxTries: this.#policy.maxTries,
          drop: reason,
          lastError,
        });
        const timer = this.#clock.setTimeout(() => {
          if (this.#phase.name !== "waiting" || this.#phase.timer !== timer) return;
          void this.#open(false, decision.tries, reason);
        }, decision.delayMs);
        this.#phase = { name: "waiting", timer };
        return;
      }
    }
  }

  #classify(reason: CloseReason): DropClass {
    return (this.#options.classify ?? classifyDrop)(reason);
  }

  #emitConversation(session: ReconnectableSession): void {
    if (this.session !== session) return;
    this.#events.emit("conversation", this.conversation);
  }

  #setState(state: ReconnectorState): void {
    this.#state = state;
    this.#events.emit("state", state);
  }
}

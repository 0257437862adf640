/*
 * Brokered mode in the page: each Connect's SDP exchange goes through the `realtimeCall`
 * callable (brokeredExchange), and this keeps the open call: its countdown and minutes
 * (MinutesView), ending it on Disconnect or a loss (the page's side closes at once; the
 * minutes that came back are shown when the server answers), ending it best effort on pagehide
 * (PageHideEnd), keeping an end the server did not answer and retrying it (PendingEnds), and
 * saying why the server ended it. Every end says how long the call had run when the page ended
 * it, on the page's monotonic clock, so a slow or retried request is not charged for. Loaded
 * with brokered mode (brokeredMode.ts), and only in that mode.
 */
import { getLimitedUseToken } from "firebase/app-check";
import {
  checkResponse,
  END_REALTIME_CALL_FUNCTION,
  EndRealtimeCallResponseSchema,
  RealtimeCallPreparedSchema,
  type CallChoices,
  type EndRealtimeCallRequest,
  type EndRealtimeCallResponse,
  type RealtimeCallPrepared,
  type VoiceMinutes,
} from "voice-contract";
import type { AppConfig } from "../config";
import type { FirebaseServices } from "../firebase";
import type { CloseReason, RealtimeConnectError, SdpExchange } from "../realtime";
import {
  BrokeredCallError,
  brokeredExchange,
  callableUrl,
  PageHideEnd,
  PendingEnds,
  type BrokeredCallOpened,
  type EndStorage,
} from "../backend";
import {
  callableBrokeredCalls,
  connectFunctions,
  type BrokeredCallables,
} from "../backend/functions";
import type { BannerContent } from "../ui/messages";
import {
  describeBrokeredRefusal,
  describeServerEnd,
  endedByDeadline,
  localDeadline,
  MinutesView,
  type MinutesElements,
  type OpenCall,
} from "../ui/minutes";

/** What {@link BrokeredCalls} needs; the callables and the clock are injectable. */
export interface BrokeredCallsOptions {
  config: AppConfig;
  firebase: FirebaseServices;
  elements: MinutesElements;
  /** A notice that arrives later than the event that caused it (an end call that failed). */
  onNotice: (banner: BannerContent) => void;
  calls?: BrokeredCallables;
  pageHide?: PageHideEnd;
  /** Wall-clock time (epoch ms). */
  now?: () => number;
  /** The page's monotonic clock (ms), for how long a call ran. Default: `performance.now`. */
  monotonic?: () => number;
  /** The signed-in user's uid. Default: Firebase Auth's current user. */
  uid?: () => string | null;
  /** Where unanswered ends wait across reloads. Default: `localStorage` (null without it). */
  storage?: EndStorage | null;
  /** Runs `work` after `ms` (an end's retry); returns what cancels it. Default: `setTimeout`. */
  schedule?: (work: () => void, ms: number) => () => void;
  /**
   * Runs `work` in a later task. Default: `setTimeout(work, 0)`. Tests pass a queue they
   * drain themselves.
   */
  defer?: (work: () => void) => void;
}

type Phase =
  | { phase: "none" }
  /** `openedAt`: when the answer arrived, on the monotonic clock. */
  | { phase: "open"; call: OpenCall; openedAt: number }
  /** The user pressed Disconnect: the page's side is closed, the server is hanging up. */
  | { phase: "hanging-up"; call: OpenCall }
  /** The session closed first: the server is told afterwards. */
  | { phase: "ending"; callId: string; minutes: VoiceMinutes };

/** What the page makes of a closed session, see {@link BrokeredCalls.closed}. */
export interface BrokeredClose {
  /** Why the server ended the call (its deadline), or null: the generic messages apply. */
  banner: BannerContent | null;
  /** The close is the end of a Disconnect the user pressed: no banner at all. */
  byUser: boolean;
}

/**
 * How long Disconnect shows "Disconnecting…" while the server hangs up (the page's side is
 * closed at once), and how long the next call waits for a dropped call's end; the end request
 * goes on (and is retried), and its minutes are shown when it answers.
 */
export const HANG_UP_WAIT_MS = 5_000;

/**
 * How long an end of a call the page never held is retried: its deadline is unknown here, and
 * no call outlives OpenAI's 60-minute session cap.
 */
const UNHELD_END_RETRY_MS = 60 * 60_000;

/**
 * How long a {@link BrokeredCalls.prepare} answer counts as fresh. Younger than the server's
 * `PREFLIGHT_MAX_AGE_SECONDS` (600), so a click within this time of the last prepare finds the
 * browser's CORS preflight answer still cached.
 */
export const PREPARE_FRESH_MS = 5 * 60_000;

/** The page's brokered calls: one open at a time. */
export class BrokeredCalls {
  readonly #calls: BrokeredCallables;
  readonly #view: MinutesView;
  readonly #pageHide: PageHideEnd;
  readonly #now: () => number;
  readonly #monotonic: () => number;
  readonly #uid: () => string | null;
  readonly #pendingEnds: PendingEnds;
  readonly #onNotice: (banner: BannerContent) => void;
  readonly #defer: (work: () => void) => void;
  #state: Phase = { phase: "none" };
  /** The last minutes the server reported, for a refusal that carries none. */
  #minutes: VoiceMinutes | null = null;
  /** The end request of a call that closed by itself; the next call waits for it. */
  #ending: Promise<unknown> = Promise.resolve();
  /** Calls asked for so far: a prepare answer older than the last call is not shown. */
  #callsStarted = 0;
  /** The last prepare: for whom, when it was sent, and its answer (null until it came). */
  #lastPrepare: {
    uid: string;
    sentAt: number;
    answer: Promise<RealtimeCallPrepared | null>;
  } | null = null;

  constructor(options: BrokeredCallsOptions) {
    const { config, firebase } = options;
    this.#calls = options.calls ?? callableBrokeredCalls(connectFunctions(firebase.app, config));
    this.#now = options.now ?? Date.now;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#uid = options.uid ?? (() => firebase.auth.currentUser?.uid ?? null);
    this.#pendingEnds = new PendingEnds({
      send: (request) => this.#calls.end(request),
      storage: options.storage === undefined ? browserStorage() : options.storage,
      now: this.#now,
      ...(options.schedule ? { schedule: options.schedule } : {}),
      // A retried end got through: what it answered is the server's latest.
      onAnswered: (_end, answer) => {
        const result = parseEndResponse(answer);
        if (result) this.#renderMinutes(result.minutes);
      },
    });
    this.#view = new MinutesView(options.elements, this.#now);
    this.#onNotice = options.onNotice;
    this.#defer = options.defer ?? ((work) => void setTimeout(work, 0));
    this.#pageHide =
      options.pageHide ??
      new PageHideEnd({
        url: callableUrl({
          projectId: config.firebase.projectId,
          region: config.functionsRegion,
          name: END_REALTIME_CALL_FUNCTION,
          emulator: config.emulators && {
            host: config.emulators.host,
            port: config.emulators.functionsPort,
          },
        }),
        idToken: async () => {
          const user = firebase.auth.currentUser;
          if (!user) throw new Error("not signed in");
          return user.getIdToken();
        },
        appCheckToken: async () =>
          firebase.appCheck ? (await getLimitedUseToken(firebase.appCheck)).token : null,
      });
  }

  /**
   * The SDP exchange for one call with the user's `choices`. The call counts as open as soon
   * as the server's answer arrives; what the user sees of it (minutes, countdown, and
   * `onOpened`, told what the server opened: the session as configured, the choices it
   * accepts) follows in the next task, and not at all if the call closed meanwhile.
   */
  exchange(choices: CallChoices, onOpened?: (opened: BrokeredCallOpened) => void): SdpExchange {
    return brokeredExchange({
      ...this.#calls,
      // A reconnect right after a drop: the dropped call's unused minutes come back first,
      // so the new reservation sees them (bounded: a hung end request delays nobody long).
      call: async (request, signal) => {
        this.#callsStarted++;
        await this.#settledOrTimeout(this.#ending);
        // Disconnect while waiting: no call to open, reserve and hang up again.
        signal.throwIfAborted();
        return this.#calls.call(request, signal);
      },
      // A call that opened after its connect was abandoned (Disconnect while realtimeCall was
      // on its way): nobody holds it, so the exchange ends it, and what that gave back is shown.
      end: (request) => this.#endUnheld(request),
      choices,
      onOpened: (opened) => {
        const call: OpenCall = {
          callId: opened.callId,
          endsAtMs: opened.endsAtMs,
          deadlineMs: localDeadline(opened, this.#now()),
          sliceSeconds: opened.sliceSeconds,
          limitedBy: opened.limitedBy,
          minutes: opened.minutes,
        };
        this.#state = { phase: "open", call, openedAt: this.#monotonic() };
        this.#minutes = opened.minutes;
        // The answer's task goes on to setRemoteDescription, which the connect waits for:
        // rendering first delayed it by several ms (bench:connect, brokered variant).
        this.#defer(() => {
          const state = this.#state;
          if (state.phase !== "open" || state.call !== call) return;
          this.#view.renderMinutes(opened.minutes);
          this.#view.startCountdown(call);
          void this.#pageHide.arm(call.callId);
          onOpened?.(opened);
        });
      },
    });
  }

  /**
   * Before any call: asks the server for `uid`'s minutes (`realtimeCall` with
   * `{ prepare: true }`, which opens nothing) and shows them. The same request readies the
   * click's path: the browser keeps the function's CORS preflight answer, the connection is
   * open and the function's instance is warm. Resolves with the answer, or null when it
   * failed (a Connect then reports the reason) or a call started meanwhile (its minutes are
   * newer). An answer for the same user younger than {@link PREPARE_FRESH_MS} is reused.
   */
  prepare(uid: string): Promise<RealtimeCallPrepared | null> {
    // Ends an earlier page of this user could not get answered (a reload, the next visit).
    this.#pendingEnds.resume(uid);
    const last = this.#lastPrepare;
    if (last && last.uid === uid && this.#now() - last.sentAt < PREPARE_FRESH_MS) {
      return last.answer;
    }
    const callsBefore = this.#callsStarted;
    const answer = this.#calls.prepare().then(
      (value) => {
        const prepared = parsePrepared(value);
        if (prepared && this.#callsStarted === callsBefore) this.#renderMinutes(prepared.minutes);
        return prepared;
      },
      () => null,
    );
    const entry = { uid, sentAt: this.#now(), answer };
    this.#lastPrepare = entry;
    // A failed prepare is not cached: the next trigger asks again.
    void answer.then((prepared) => {
      if (prepared === null && this.#lastPrepare === entry) this.#lastPrepare = null;
    });
    return answer;
  }

  /**
   * The banner for a failed Connect when it is a brokered refusal (out of minutes, mode not
   * served), else null. A refusal's minutes are shown.
   */
  describeConnectError(error: RealtimeConnectError): BannerContent | null {
    const cause = error.cause;
    if (cause instanceof BrokeredCallError && cause.details.minutes) {
      this.#renderMinutes(cause.details.minutes);
    }
    return describeBrokeredRefusal(error, this.#now());
  }

  /** Whether a call is open (Disconnect then goes through {@link hangUp}). */
  get hasOpenCall(): boolean {
    return this.#state.phase === "open";
  }

  /**
   * Disconnect: asks the server to end the call, saying how long it ran, and has `dispose`
   * close the page's side at once, so nothing more is sent and the user is charged to this
   * moment (within the server's bound), however long the request takes. Resolves once the
   * server answered or after {@link HANG_UP_WAIT_MS} (the page shows "Disconnecting…" until
   * then); the minutes that came back are shown when the answer arrives. Does nothing without
   * an open call.
   */
  async hangUp(dispose: () => void): Promise<void> {
    const state = this.#state;
    if (state.phase !== "open") return;
    const { call } = state;
    const endedAfterSeconds = this.#ranSeconds(state.openedAt);
    this.#state = { phase: "hanging-up", call };
    this.#pageHide.disarm();
    this.#view.stopCountdown();
    this.#view.renderMinutes(call.minutes, "ending");
    const ending = this.#requestEnd(call.callId, endedAfterSeconds, call.deadlineMs);
    this.#ending = ending;
    dispose();
    void ending.then((result) => this.#settled(call, result));
    await this.#settledOrTimeout(ending);
  }

  /**
   * The session closed. An open call is ended on the server (in the background; the minutes
   * that came back are shown when it answers), and a loss at its deadline is explained as the
   * server's hang-up. A close while Disconnect is hanging up is the user's.
   */
  closed(reason: CloseReason): BrokeredClose {
    const state = this.#state;
    if (state.phase === "hanging-up") return { banner: null, byUser: true };
    if (state.phase !== "open") return { banner: null, byUser: false };
    const { call } = state;
    const endedAfterSeconds = this.#ranSeconds(state.openedAt);
    this.#view.stopCountdown();
    const banner = endedByDeadline(reason, call.deadlineMs, this.#now())
      ? describeServerEnd(call, this.#now())
      : null;
    void this.#end(call, endedAfterSeconds);
    return { banner, byUser: false };
  }

  /**
   * The page is going away: ends the call with a keepalive request, and keeps the end so that
   * the next page of this user sends it again should the keepalive not arrive.
   */
  pageHide(): void {
    const state = this.#state;
    if (state.phase !== "open") return;
    const endedAfterSeconds = this.#ranSeconds(state.openedAt);
    this.#state = { phase: "none" };
    this.#view.stopCountdown();
    const uid = this.#uid();
    const { callId, deadlineMs } = state.call;
    if (uid !== null)
      this.#pendingEnds.keep({ uid, callId, endedAfterSeconds, untilMs: deadlineMs });
    this.#pageHide.fire(endedAfterSeconds);
  }

  /** Ends `call` on the server and shows the minutes that came back. */
  async #end(call: OpenCall, endedAfterSeconds: number): Promise<void> {
    this.#state = { phase: "ending", callId: call.callId, minutes: call.minutes };
    this.#pageHide.disarm();
    this.#view.renderMinutes(call.minutes, "ending");
    const ending = this.#requestEnd(call.callId, endedAfterSeconds, call.deadlineMs);
    this.#ending = ending;
    this.#settled(call, await ending);
  }

  /** Whole seconds since `openedAt` (monotonic), rounded up as the server charges them. */
  #ranSeconds(openedAt: number): number {
    return Math.max(0, Math.ceil((this.#monotonic() - openedAt) / 1000));
  }

  /**
   * Ends a call the page never held (it opened after its connect was abandoned: it ran 0 s
   * here) and shows the minutes the end answered with; the next call waits for it, as after a
   * drop.
   */
  async #endUnheld(request: EndRealtimeCallRequest): Promise<EndRealtimeCallResponse | null> {
    const ending = this.#requestEnd(
      request.callId,
      request.endedAfterSeconds ?? 0,
      this.#now() + UNHELD_END_RETRY_MS,
    );
    this.#ending = ending;
    const result = await ending;
    if (result) this.#renderMinutes(result.minutes);
    return result;
  }

  /** `promise`, or {@link HANG_UP_WAIT_MS}, whichever settles first; never rejects. */
  async #settledOrTimeout(promise: Promise<unknown>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      promise.catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, HANG_UP_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  /**
   * The end call's checked answer, or null when it failed; a failed one is kept and retried
   * until `untilMs` (PendingEnds), with the same claim.
   */
  async #requestEnd(
    callId: string,
    endedAfterSeconds: number,
    untilMs: number,
  ): Promise<EndRealtimeCallResponse | null> {
    const uid = this.#uid();
    const request = { callId, endedAfterSeconds };
    const answer =
      uid === null
        ? await this.#calls.end(request).catch(() => null)
        : await this.#pendingEnds.submit({ uid, ...request, untilMs });
    return parseEndResponse(answer);
  }

  /** Shows what ending `call` gave back, or says that the server could not be told. */
  #settled(call: OpenCall, result: EndRealtimeCallResponse | null): void {
    const state = this.#state;
    if (
      (state.phase === "ending" && state.callId === call.callId) ||
      (state.phase === "hanging-up" && state.call.callId === call.callId)
    ) {
      this.#state = { phase: "none" };
    }
    if (result) {
      this.#renderMinutes(result.minutes);
      return;
    }
    this.#renderMinutes(this.#minutes ?? call.minutes);
    this.#onNotice({
      kind: "end-call-failed",
      message:
        "The call was closed here, but the server could not be told yet. This page keeps " +
        "telling it until the call's deadline, and you are charged up to when you hung up; " +
        "if it never gets through, the whole slice is charged.",
      action: null,
    });
  }

  #renderMinutes(minutes: VoiceMinutes): void {
    this.#minutes = minutes;
    this.#view.renderMinutes(minutes);
  }
}

/** `localStorage`, or null where the browser refuses it (storage off, a sandbox). */
function browserStorage(): EndStorage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** The end-call result, checked; null when it is not one. */
function parseEndResponse(value: unknown): EndRealtimeCallResponse | null {
  const checked = checkResponse(EndRealtimeCallResponseSchema, value);
  return checked.ok ? checked.value : null;
}

/** The prepare result, checked; null when it is not one. */
function parsePrepared(value: unknown): RealtimeCallPrepared | null {
  const checked = checkResponse(RealtimeCallPreparedSchema, value);
  return checked.ok ? checked.value : null;
}

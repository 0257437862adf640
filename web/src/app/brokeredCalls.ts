/*
 * Brokered mode in the page: each Connect's SDP exchange goes through the `realtimeCall`
 * callable (brokeredExchange), and this keeps the open call: its countdown (MinutesView),
 * ending it on Disconnect or a loss (the page's side closes at once; the minutes that came
 * back are shown when the server answers), ending it best effort on pagehide (PageHideEnd),
 * keeping an end the server did not answer and retrying it (PendingEnds), and saying why the
 * server ended it. Every end says how long the call had run when the page ended it, on the
 * page's monotonic clock, so a slow or retried request is not charged for. Every answer's
 * minutes go to MinutesState, which keeps the newest (of this tab's and the user's other
 * tabs') for the minutes line and says when they block Connect. Loaded with brokered mode
 * (brokeredMode.ts), and only in that mode.
 */
import { getLimitedUseToken } from "firebase/app-check";
import {
  checkResponse,
  END_REALTIME_CALL_FUNCTION,
  EndRealtimeCallResponseSchema,
  RealtimeCallPreparedSchema,
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
  type BrokeredCallChoices,
  type BrokeredCallOpened,
  type EndStorage,
} from "../backend";
import {
  callableBrokeredCalls,
  connectFunctions,
  type BrokeredCallables,
} from "../backend/functions";
import type { ConnectBlock } from "../ui/callPanel";
import type { BannerContent, BannerKind } from "../ui/messages";
import {
  describeBrokeredRefusal,
  describeServerEnd,
  endedByDeadline,
  localDeadline,
  MinutesView,
  type MinutesElements,
  type OpenCall,
} from "../ui/minutes";
import { MinutesState, type MinutesChannel, type Timer } from "./minutesState";

/** What {@link BrokeredCalls} needs; the callables and the clock are injectable. */
export interface BrokeredCallsOptions {
  config: AppConfig;
  firebase: FirebaseServices;
  elements: MinutesElements;
  /** A notice that arrives later than the event that caused it (an end call that failed). */
  onNotice: (banner: BannerContent) => void;
  /** A notice of `kind` is no longer true (every end the server had not heard got through). */
  onNoticeResolved: (kind: BannerKind) => void;
  /** Whether the user's minutes leave Connect off, and why (null: a call may start). */
  onBlock: (block: ConnectBlock | null) => void;
  /** The signed-in user's uid, or null. Default: Firebase Auth's current user. */
  uid?: () => string | null;
  /** The channel the tabs of `uid` share minutes on (MinutesState's default: the browser's). */
  minutesChannel?: (uid: string) => MinutesChannel;
  /** MinutesState's timer (a blocked Connect's tick). */
  timer?: Timer;
  calls?: BrokeredCallables;
  pageHide?: PageHideEnd;
  /** Wall-clock time (epoch ms). */
  now?: () => number;
  /** The page's monotonic clock (ms), for how long a call ran. Default: `performance.now`. */
  monotonic?: () => number;
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

/** A call the page holds, and whose minutes its answers are. */
interface HeldCall {
  call: OpenCall;
  uid: string | null;
}

/** An open call: `openedAt` is when the answer arrived, on the monotonic clock. */
interface OpenHeldCall extends HeldCall {
  openedAt: number;
}

type Phase =
  | { phase: "none" }
  | ({ phase: "open" } & OpenHeldCall)
  /** The user pressed Disconnect: the page's side is closed, the server is hanging up. */
  | ({ phase: "hanging-up" } & HeldCall)
  /** The session closed first: the server is told afterwards. */
  | { phase: "ending"; callId: string };

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
  readonly #pendingEnds: PendingEnds;
  readonly #onNotice: (banner: BannerContent) => void;
  readonly #defer: (work: () => void) => void;
  readonly #uid: () => string | null;
  readonly #minutes: MinutesState;
  #state: Phase = { phase: "none" };
  /** End requests on their way: the minutes line says "updating…" meanwhile. */
  #endsPending = 0;
  /** The end request of a call that closed by itself; the next call waits for it. */
  #ending: Promise<unknown> = Promise.resolve();
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
    this.#view = new MinutesView(options.elements, this.#now);
    this.#onNotice = options.onNotice;
    this.#defer = options.defer ?? ((work) => void setTimeout(work, 0));
    this.#uid = options.uid ?? (() => firebase.auth.currentUser?.uid ?? null);
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#pendingEnds = new PendingEnds({
      send: (request) => this.#calls.end(request),
      storage: options.storage === undefined ? browserStorage() : options.storage,
      now: this.#now,
      ...(options.schedule ? { schedule: options.schedule } : {}),
      // A retried end got through: what it answered is the server's latest.
      onAnswered: (end, answer) => {
        const result = parseEndResponse(answer);
        if (result) this.#offer(end.uid, result.minutes);
        if (!this.#pendingEnds.kept.some((kept) => kept.uid === end.uid)) {
          options.onNoticeResolved("end-call-failed");
        }
      },
    });
    this.#minutes = new MinutesState({
      now: this.#now,
      ...(options.minutesChannel ? { channel: options.minutesChannel } : {}),
      ...(options.timer ? { timer: options.timer } : {}),
      onFigure: () => this.#renderMinutes(),
      onBlock: options.onBlock,
      refresh: () => this.#refresh(),
    });
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
  exchange(
    choices: BrokeredCallChoices,
    onOpened?: (opened: BrokeredCallOpened) => void,
  ): SdpExchange {
    // Whose minutes the answers are: a user who signed out meanwhile is not shown them.
    const uid = this.#uid();
    return brokeredExchange({
      ...this.#calls,
      // A reconnect right after a drop: the dropped call's unused minutes come back first,
      // so the new reservation sees them (bounded: a hung end request delays nobody long).
      call: async (request, signal) => {
        await this.#settledOrTimeout(this.#ending);
        // Disconnect while waiting: no call to open, reserve and hang up again.
        signal.throwIfAborted();
        return this.#calls.call(request, signal);
      },
      // A call that opened after its connect was abandoned (Disconnect while realtimeCall was
      // on its way): nobody holds it, so the exchange ends it, and what that gave back is shown.
      end: (request) => this.#endUnheld(uid, request),
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
        this.#state = { phase: "open", call, uid, openedAt: this.#monotonic() };
        // The answer's task goes on to setRemoteDescription, which the connect waits for:
        // rendering first delayed it by several ms (bench:connect, brokered variant).
        this.#defer(() => {
          const state = this.#state;
          if (state.phase !== "open" || state.call !== call) return;
          this.#offer(uid, opened.minutes);
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
   * failed (a Connect then reports the reason). Its minutes are shown unless the page has
   * newer ones (a call's, another tab's). An answer for the same user younger than
   * {@link PREPARE_FRESH_MS} is reused.
   */
  prepare(uid: string): Promise<RealtimeCallPrepared | null> {
    // From now on the user's other tabs are heard.
    this.#minutes.user(uid);
    // Ends an earlier page of this user could not get answered (a reload, the next visit).
    this.#pendingEnds.resume(uid);
    const last = this.#lastPrepare;
    if (last && last.uid === uid && this.#now() - last.sentAt < PREPARE_FRESH_MS) {
      return last.answer;
    }
    const answer = this.#calls.prepare().then(
      (value) => {
        const prepared = parsePrepared(value);
        if (prepared) this.#offer(uid, prepared.minutes);
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
      this.#offer(this.#uid(), cause.details.minutes);
    }
    return describeBrokeredRefusal(error, this.#now());
  }

  /** The signed-in user changed: the last user's minutes are not shown, nor block Connect. */
  userChanged(): void {
    this.#minutes.user(this.#uid());
    this.#lastPrepare = null;
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
    const { call, uid } = state;
    const endedAfterSeconds = this.#ranSeconds(state.openedAt);
    this.#state = { phase: "hanging-up", call, uid };
    this.#pageHide.disarm();
    this.#view.stopCountdown();
    this.#offer(uid, call.minutes);
    const ending = this.#requestEnd(uid, call.callId, endedAfterSeconds, call.deadlineMs);
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
    const { call, uid } = state;
    const endedAfterSeconds = this.#ranSeconds(state.openedAt);
    this.#view.stopCountdown();
    // The newest figure judges whether another call can start, not the one this call opened
    // with: another tab may have ended or opened a call since.
    this.#offer(uid, call.minutes);
    const current = this.#minutes.figure ?? { minutes: call.minutes, receivedAtMs: this.#now() };
    const banner = endedByDeadline(reason, call.deadlineMs, this.#now())
      ? describeServerEnd(call, current, this.#now())
      : null;
    void this.#end(call, uid, endedAfterSeconds);
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
    const { callId, deadlineMs } = state.call;
    if (state.uid !== null)
      this.#pendingEnds.keep({ uid: state.uid, callId, endedAfterSeconds, untilMs: deadlineMs });
    this.#pageHide.fire(endedAfterSeconds);
  }

  /** Ends `call` on the server and shows the minutes that came back. */
  async #end(call: OpenCall, uid: string | null, endedAfterSeconds: number): Promise<void> {
    this.#state = { phase: "ending", callId: call.callId };
    this.#pageHide.disarm();
    const ending = this.#requestEnd(uid, call.callId, endedAfterSeconds, call.deadlineMs);
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
  #endUnheld(
    uid: string | null,
    request: EndRealtimeCallRequest,
  ): Promise<EndRealtimeCallResponse | null> {
    const ending = this.#requestEnd(
      uid,
      request.callId,
      request.endedAfterSeconds ?? 0,
      this.#now() + UNHELD_END_RETRY_MS,
    );
    this.#ending = ending;
    return ending;
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
   * The end call's checked answer, or null when it failed; its minutes (`uid`'s) are offered.
   * A failed one is kept and retried until `untilMs` (PendingEnds), with the same claim. The
   * minutes line says "updating…" while it is on its way.
   */
  async #requestEnd(
    uid: string | null,
    callId: string,
    endedAfterSeconds: number,
    untilMs: number,
  ): Promise<EndRealtimeCallResponse | null> {
    this.#endsPending++;
    this.#renderMinutes();
    const request = { callId, endedAfterSeconds };
    let result: EndRealtimeCallResponse | null = null;
    try {
      const answer =
        uid === null
          ? await this.#calls.end(request)
          : await this.#pendingEnds.submit({ uid, ...request, untilMs });
      result = parseEndResponse(answer);
    } catch {
      // Null: the caller says that the server could not be told.
    }
    this.#endsPending--;
    if (result) this.#offer(uid, result.minutes);
    this.#renderMinutes();
    return result;
  }

  /** `call` is over once its end answered; a banner says so when the server could not be told. */
  #settled(call: OpenCall, result: EndRealtimeCallResponse | null): void {
    const state = this.#state;
    if (
      (state.phase === "ending" && state.callId === call.callId) ||
      (state.phase === "hanging-up" && state.call.callId === call.callId)
    ) {
      this.#state = { phase: "none" };
    }
    if (result) return;
    this.#onNotice({
      kind: "end-call-failed",
      message:
        "The call was closed here, but the server could not be told yet. This page keeps " +
        "telling it until the call's deadline, and you are charged up to when you hung up; " +
        "if it never gets through, the whole slice is charged.",
      action: null,
    });
  }

  /** Keeps `minutes` when they are `uid`'s (still signed in) and newer than the page's. */
  #offer(uid: string | null, minutes: VoiceMinutes): void {
    if (uid === null || uid !== this.#uid()) return;
    this.#minutes.user(uid);
    this.#minutes.offer(uid, minutes);
  }

  /** The newest figure, marked while an end request may still change it. */
  #renderMinutes(): void {
    const figure = this.#minutes.figure;
    this.#view.renderMinutes(figure?.minutes ?? null, this.#endsPending > 0 ? "ending" : "known");
  }

  /** A spent budget's reset passed: asks the server what is left now. */
  #refresh(): void {
    const uid = this.#uid();
    if (uid === null) return;
    this.#lastPrepare = null;
    void this.prepare(uid);
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

/** `localStorage`, or null where the browser refuses it (storage off, a sandbox). */
function browserStorage(): EndStorage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/*
 * Voice minutes of brokered calls as the page shows them: what is left today (and this month
 * when capped), the countdown to the server's hang-up, the warning before it, and why a call
 * ended or was refused. The functions are pure (time passed in); MinutesView renders them.
 * Loaded with the session code (live.ts), and only used in brokered mode.
 */
import {
  isMinuteLimitReason,
  MINUTE_BUDGETS,
  MINUTE_LIMIT_REASONS,
  type MinuteLimitReason,
  type SliceLimit,
  type VoiceMinutes,
} from "voice-contract";
import type { CloseReason, RealtimeConnectError } from "../realtime";
import { formatDuration } from "../duration";
import { BrokeredCallError } from "../backend";
import type { ConnectBlock } from "./callPanel";
import { byId } from "./dom";
import type { BannerContent } from "./messages";

/** The warning shows at most this long before the server hangs up (calls of 5 min or more). */
export const WARNING_SECONDS = 60;

/**
 * A shorter call is warned for its last fifth only: a warning from the first second (a 30 s
 * call "in its last minute") would be noise, and would be ignored when it matters.
 */
export const WARNING_SHARE = 0.2;

/** How long before the hang-up a call of `sliceSeconds` shows the warning: at most a minute. */
export function warningSeconds(sliceSeconds: number): number {
  return Math.min(WARNING_SECONDS, Math.ceil(sliceSeconds * WARNING_SHARE));
}

/**
 * A loss this close to the deadline (or after it) is taken for the server's hang-up: the
 * server's clock, the hang-up task and the close reaching the page are each a little late.
 */
export const DEADLINE_TOLERANCE_MS = 5_000;

/** What a brokered call's open told the page, with its deadline on the page's own clock. */
export interface OpenCall {
  callId: string;
  /** The server's deadline (epoch ms, the server's clock), as `realtimeCall` returned it. */
  endsAtMs: number;
  /** When the page expects the hang-up, on its own clock (see {@link localDeadline}). */
  deadlineMs: number;
  sliceSeconds: number;
  limitedBy: SliceLimit;
  /** The minutes left after this call's slice. */
  minutes: VoiceMinutes;
}

/**
 * A figure of the server's with when the page received it, on the page's clock: the server's
 * instants (`…ResetsAtMs`) are placed on the page's clock by their distance from `readAtMs`,
 * so a page clock that differs from the server's does not move a reset (and the answer's
 * travel time only makes a reset look later than it is, never earlier).
 */
export interface MinutesFigure {
  minutes: VoiceMinutes;
  receivedAtMs: number;
}

/** The server instant `atMs` of `figure` on the page's clock (see {@link MinutesFigure}). */
export function onPageClock(figure: MinutesFigure, atMs: number): number {
  return figure.receivedAtMs + (atMs - figure.minutes.readAtMs);
}

/**
 * The spent budget a page names: of those spent, the one back last (a call cannot start
 * before all are back); on a tie the longer period, as the server's refusal names it. Null
 * when none is spent.
 */
export function spentBudget(minutes: VoiceMinutes): MinuteLimitReason | null {
  let named: { reason: MinuteLimitReason; backAtMs: number } | null = null;
  // MINUTE_LIMIT_REASONS lists the shorter period first: `>=` lets the longer win a tie.
  for (const reason of MINUTE_LIMIT_REASONS) {
    const budget = MINUTE_BUDGETS[reason];
    const resetsAtMs = budget.resetsAtMs(minutes);
    if (resetsAtMs === null || budget.secondsLeft(minutes) !== 0) continue;
    if (named === null || resetsAtMs >= named.backAtMs) named = { reason, backAtMs: resetsAtMs };
  }
  return named?.reason ?? null;
}

/** Why Connect is off: a spent budget, and when it is back on the page's clock. */
export interface MinutesBlock extends ConnectBlock {
  reason: MinuteLimitReason;
  /** When the budget is back (page clock); the server is asked again then. */
  backAtMs: number;
}

/**
 * Whether `figure` leaves Connect off at `nowMs`: a spent budget whose reset has not passed,
 * with the sentence that says so ("You have used today's voice minutes. They come back in
 * 3 h 5 min (midnight UTC)."). Null when a call may start.
 */
export function connectBlock(figure: MinutesFigure | null, nowMs: number): MinutesBlock | null {
  if (figure === null) return null;
  const reason = spentBudget(figure.minutes);
  const resetsAtMs = reason === null ? null : MINUTE_BUDGETS[reason].resetsAtMs(figure.minutes);
  if (reason === null || resetsAtMs === null) return null;
  const backAtMs = onPageClock(figure, resetsAtMs);
  if (backAtMs <= nowMs) return null;
  return {
    reason,
    backAtMs,
    message: `You have used ${MINUTE_BUDGETS[reason].period} voice minutes. ${comesBack(reason, figure, undefined, nowMs)}`,
  };
}

/**
 * The deadline on the page's clock: the server's `endsAtMs`, but never later than the slice
 * counted from the answer's arrival, so a page clock that runs behind the server's does not
 * push the countdown past the real hang-up (a clock ahead only makes it end early).
 */
export function localDeadline(
  opened: { endsAtMs: number; sliceSeconds: number },
  receivedAtMs: number,
): number {
  return Math.min(opened.endsAtMs, receivedAtMs + opened.sliceSeconds * 1000);
}

/** The countdown during a call. */
export type Countdown =
  | { phase: "running"; secondsLeft: number }
  | { phase: "warning"; secondsLeft: number }
  | { phase: "ended"; secondsLeft: 0 };

/**
 * Where the countdown of a call of `sliceSeconds` stands at `nowMs`; `warning` in its last
 * {@link warningSeconds}.
 */
export function countdown(deadlineMs: number, nowMs: number, sliceSeconds: number): Countdown {
  const secondsLeft = Math.ceil((deadlineMs - nowMs) / 1000);
  if (secondsLeft <= 0) return { phase: "ended", secondsLeft: 0 };
  const warn = secondsLeft <= warningSeconds(sliceSeconds);
  return { phase: warn ? "warning" : "running", secondsLeft };
}

/** "12 min 30 s today", plus " · 2 h this month" when there is a monthly cap. */
export function minutesLeftText(minutes: VoiceMinutes): string {
  const day = `${formatDuration(minutes.daySeconds, "amount")} today`;
  return minutes.monthSeconds === null
    ? day
    : `${day} · ${formatDuration(minutes.monthSeconds, "amount")} this month`;
}

/** Whole seconds from `nowMs` to the instant `atMs` (milliseconds), at least 1. */
function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((atMs - nowMs) / 1000));
}

/** "They come back in 3 h 5 min (midnight UTC)." for the budget `reason`. */
function comesBack(
  reason: MinuteLimitReason,
  figure: MinutesFigure | undefined,
  retryAfterSeconds: number | undefined,
  nowMs: number,
): string {
  const budget = MINUTE_BUDGETS[reason];
  const resetsAt = figure === undefined ? null : budget.resetsAtMs(figure.minutes);
  const wait =
    figure !== undefined && resetsAt !== null
      ? secondsUntil(onPageClock(figure, resetsAt), nowMs)
      : retryAfterSeconds;
  const when = budget.when;
  return wait === undefined
    ? `They come back at ${when}.`
    : `They come back in ${formatDuration(wait, "wait")} (${when}).`;
}

/**
 * Whether a session that closed with `reason` at `closedAtMs` was ended by the server's
 * hang-up at the call's deadline: a loss (not the user's Disconnect, not a failed connect)
 * from {@link DEADLINE_TOLERANCE_MS} before the deadline on. An `unresponsive` close is judged
 * by when the server was last heard from (`silentMs` before the close): a server that fell
 * silent well before the deadline vanished (a cut network, a crash), even though the page
 * only notices near or after the deadline, and that call is reconnected, not explained away.
 */
export function endedByDeadline(reason: CloseReason, deadlineMs: number, closedAtMs: number) {
  if (reason.kind === "client" || reason.kind === "connect-failed") return false;
  const lastHeardMs = reason.kind === "unresponsive" ? closedAtMs - reason.silentMs : closedAtMs;
  return lastHeardMs >= deadlineMs - DEADLINE_TOLERANCE_MS;
}

/**
 * The banner when the server hung up at the deadline: which limit ended the call, and whether
 * a new one can start, judged by `current`, the newest figure the page has (another tab's
 * refund or call may have changed it since this call opened). It quotes no amount left, which
 * the next answer could make stale; the minutes line shows that.
 */
export function describeServerEnd(
  call: OpenCall,
  current: MinutesFigure,
  nowMs: number,
): BannerContent {
  const reached = `The call reached its ${formatDuration(call.sliceSeconds, "amount")} limit, so the server ended it.`;
  const spent = spentBudget(current.minutes);
  if (spent === null) {
    return {
      kind: "ended-call-limit",
      message: `${reached} Press Reconnect to start a new call.`,
      // The Reconnect button under the banner is that action; a second one would be a twin.
      action: null,
    };
  }
  const { period } = MINUTE_BUDGETS[spent];
  const head =
    call.limitedBy === spent
      ? `The call used up ${period} voice minutes, so the server ended it.`
      : `${reached} You have used ${period} voice minutes.`;
  return {
    kind: `ended-${spent}`,
    message: `${head} ${comesBack(spent, current, undefined, nowMs)}`,
    action: null,
  };
}

/**
 * The banner for a brokered call the backend refused: out of minutes (with when they come
 * back) or a backend that does not serve brokered calls (with what it serves). Null for any
 * other failure, which the generic connect messages cover.
 */
export function describeBrokeredRefusal(
  error: RealtimeConnectError,
  nowMs: number,
): BannerContent | null {
  const cause = error.cause;
  if (!(cause instanceof BrokeredCallError)) return null;
  const { reason, minutes, retryAfterSeconds, served, servedApis } = cause.details;
  if (error.failure === "out-of-minutes" && isMinuteLimitReason(reason)) {
    const figure = minutes === undefined ? undefined : { minutes, receivedAtMs: nowMs };
    return {
      kind: `refused-${reason}`,
      message: `${error.message} ${comesBack(reason, figure, retryAfterSeconds, nowMs)}`,
      action: null,
    };
  }
  if (error.failure === "rate-limited" && reason === "ip-rate") {
    return {
      kind: "refused-ip-rate",
      message:
        `${error.message} Everyone on your network (an office, a campus) shares one ` +
        "allowance of calls per minute.",
      action: null,
    };
  }
  if (error.failure === "not-served" && reason === "api-not-served") {
    const what = servedApis && servedApis.length > 0 ? servedApis.join(" and ") : "no";
    return {
      kind: "api-not-served",
      message:
        `${error.message} It serves ${what} calls. If you run this app, set VITE_VOICE_API ` +
        "to an API the backend serves, or add it to the function's BROKERED_APIS.",
      action: null,
    };
  }
  if (error.failure === "not-served") {
    const what = served && served.length > 0 ? served.join(" and ") : "nothing";
    return {
      kind: "mode-not-served",
      message:
        `${error.message} It serves ${what} calls. If you run this app, set ` +
        "VITE_REALTIME_MODE to a mode the backend serves, or add brokered to the function's REALTIME_MODES.",
      action: null,
    };
  }
  return null;
}

/** The elements {@link MinutesView} renders into (see index.html). */
export interface MinutesElements {
  /** `#minutes-left`: `data-day-seconds`, `data-month-seconds`, `data-state`. */
  left: HTMLElement;
  /** `#call-clock`: `data-phase`, `data-seconds-left`, `data-ends-at` (server ms). */
  clock: HTMLElement;
  /** `#call-warning`: shown near the end ({@link warningSeconds}). */
  warning: HTMLElement;
}

/** Renders minutes left and the countdown. */
export class MinutesView {
  readonly #els: MinutesElements;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `now` is the wall clock of the call it counts down (BrokeredCalls passes its own). */
  constructor(els: MinutesElements, now: () => number) {
    this.#els = els;
    this.#now = now;
  }

  /** Shows what is left; `ending` while an end-call request is on its way. */
  renderMinutes(minutes: VoiceMinutes | null, state: "known" | "ending" = "known"): void {
    const left = this.#els.left;
    left.dataset.state = minutes === null ? "unknown" : state;
    if (minutes === null) return;
    left.textContent = minutesLeftText(minutes) + (state === "ending" ? " (updating…)" : "");
    left.dataset.daySeconds = String(minutes.daySeconds);
    left.dataset.monthSeconds = minutes.monthSeconds === null ? "" : String(minutes.monthSeconds);
  }

  /** Starts the countdown to `call.deadlineMs`. */
  startCountdown(call: OpenCall): void {
    this.stopCountdown();
    this.#els.clock.dataset.endsAt = String(call.endsAtMs);
    this.#els.clock.hidden = false;
    const tick = () => {
      const state = countdown(call.deadlineMs, this.#now(), call.sliceSeconds);
      this.#renderClock(state);
      if (state.phase === "ended") this.#clearTimer();
    };
    tick();
    this.#timer = setInterval(tick, 250);
  }

  /** Stops and hides the countdown and the warning (idempotent). */
  stopCountdown(): void {
    this.#clearTimer();
    this.#els.clock.hidden = true;
    this.#els.clock.dataset.phase = "none";
    this.#els.warning.hidden = true;
  }

  #clearTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #renderClock(state: Countdown): void {
    const { clock, warning } = this.#els;
    clock.dataset.phase = state.phase;
    clock.dataset.secondsLeft = String(state.secondsLeft);
    clock.textContent =
      state.phase === "ended" ? "Ending…" : `${formatDuration(state.secondsLeft, "clock")} left`;
    // A fixed sentence (index.html), announced once when shown rather than every second.
    warning.hidden = state.phase !== "warning";
  }
}

/** The minutes view's elements in `index.html`. */
export function minutesElements(): MinutesElements {
  return {
    left: byId("minutes-left", HTMLElement),
    clock: byId("call-clock", HTMLElement),
    warning: byId("call-warning", HTMLElement),
  };
}

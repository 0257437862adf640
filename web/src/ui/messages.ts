/*
 * What the user reads when something goes wrong: each message says what happened and what
 * to do next. Pure functions, so they are unit-tested without a DOM.
 */
import type { MinuteLimitReason } from "voice-contract";
import { errorCode } from "../firebase";
import {
  isSecretRejected,
  type ConnectFailure,
  type ConnectWait,
  type LiveCloseReason,
  type RealtimeConnectError,
  type SessionProblem,
} from "../realtime";
import { TokenError, type TokenErrorKind } from "../backend";

/** What a banner offers besides dismissing it. */
export type BannerAction = "retry" | "reload" | "sign-in" | "enable-audio" | null;

/** Kinds of the connect advice ({@link describeConnectError}); timeouts have their own. */
type ConnectAdviceKind =
  | "token-unknown"
  | "microphone"
  | "network"
  | "openai-rejected"
  | "openai-call"
  | "webrtc"
  | "minutes"
  | "rate-limited"
  | "misconfigured"
  | "app-check"
  | "unavailable";

/** What a banner is about; `#banner[data-kind]`, which the end-to-end tests read. */
export type BannerKind =
  | ConnectAdviceKind
  | `timeout-${ConnectWait}`
  | `token-${TokenErrorKind}`
  | "auth-popup-blocked"
  | "auth-disabled"
  | "auth-guest-disabled"
  | "auth-network"
  | "auth-failed"
  | "app-load"
  | "openai-error"
  | "autoplay"
  | "reconnect-failed"
  | "end-call-failed"
  | "ended-call-limit"
  | `ended-${MinuteLimitReason}`
  | `refused-${MinuteLimitReason}`
  | "refused-ip-rate"
  | "mode-not-served"
  | "api-not-served"
  | "live-refused"
  | `live-closed-${LiveCloseReason}`;

/** A banner's content. */
export interface BannerContent {
  kind: BannerKind;
  message: string;
  action: BannerAction;
}

/** The banner for a failed `connect()`; null when the user cancelled it themselves. */
export function describeConnectError(error: RealtimeConnectError): BannerContent | null {
  const { cause, failure } = error;
  if (failure === "aborted") return null;
  if (failure === "token" && cause instanceof TokenError) {
    const { kind } = cause;
    return {
      kind: `token-${kind}`,
      message: cause.message,
      action:
        kind === "app-check"
          ? "reload"
          : kind === "not-signed-in"
            ? "sign-in"
            : kind === "misconfigured" || kind === "daily-quota"
              ? null
              : "retry",
    };
  }
  if (failure === "timeout") {
    // Who was slow decides the advice: the page's network, the app's function, or OpenAI.
    const waited = error.waited ?? "ice";
    return {
      kind: `timeout-${waited}`,
      message: `${error.message} ${TIMEOUT_ADVICE[waited]}`,
      action: "retry",
    };
  }
  const [kind, advice] = CONNECT_ADVICE[isSecretRejected(error) ? "secret" : failure];
  return {
    kind,
    message: `${error.message} ${advice}`,
    action: failure === "unsupported" ? null : "retry",
  };
}

const TRY_AGAIN = "Press Connect to try again.";
const CHECK_NETWORK = "Check your network and press Connect to try again.";
const CHECK_MIC = "Check that a microphone is connected and free, then press Connect.";

const BUSY_SERVER = "It may be busy or starting up; press Connect to try again in a moment.";

/**
 * Advice after a timeout, by what the step waited for: only the steps that cross the user's
 * network to OpenAI point at the network; a slow function or a slow OpenAI is not the user's.
 */
const TIMEOUT_ADVICE: Record<ConnectWait, string> = {
  microphone:
    "If the browser is asking for the microphone, answer it; otherwise check that a microphone is connected and free. Then press Connect.",
  token: BUSY_SERVER,
  offer: "Reload the page, then press Connect.",
  "openai-answer": CHECK_NETWORK,
  "backend-answer": BUSY_SERVER,
  "upstream-answer": "OpenAI may be busy; press Connect to try again in a moment.",
  ice: `A VPN or firewall may be blocking WebRTC. ${CHECK_NETWORK}`,
  channel: TRY_AGAIN,
};

/** Banner kind and advice per failure; `secret` is a rejected secret. */
const CONNECT_ADVICE: Record<
  Exclude<ConnectFailure, "aborted" | "timeout"> | "secret",
  [ConnectAdviceKind, string]
> = {
  token: ["token-unknown", "Try again."],
  denied: [
    "microphone",
    "Allow the microphone for this site (the icon in the address bar), then press Connect.",
  ],
  "not-found": ["microphone", CHECK_MIC],
  "in-use": ["microphone", CHECK_MIC],
  microphone: ["microphone", CHECK_MIC],
  unreachable: ["network", CHECK_NETWORK],
  secret: ["openai-rejected", "Press Connect to try again with a new session key."],
  rejected: ["openai-call", TRY_AGAIN],
  "invalid-answer": ["openai-call", TRY_AGAIN],
  unsupported: [
    "webrtc",
    "This browser may not support WebRTC audio; try a current Chrome, Edge, Firefox or Safari.",
  ],
  connection: ["network", `A VPN or firewall may be blocking WebRTC. ${CHECK_NETWORK}`],
  // The brokered exchange's failures (ui/minutes.ts says more for minutes and the mode).
  "out-of-minutes": ["minutes", "Try again when your minutes come back."],
  "rate-limited": ["rate-limited", "Wait a moment, then press Connect to try again."],
  "invalid-offer": ["webrtc", TRY_AGAIN],
  "invalid-request": ["openai-call", "Pick another option, then press Connect."],
  "not-served": ["misconfigured", "If you run this app, check REALTIME_MODES."],
  unauthenticated: ["app-check", "Reload the page and try again."],
  unavailable: ["unavailable", "Try again in a minute."],
  misconfigured: [
    "misconfigured",
    "If you run this app, the function logs name the setting to fix.",
  ],
};

/** The banner for a failed sign-in; null when the user closed the popup. */
export function describeAuthError(error: unknown): BannerContent | null {
  const code = errorCode(error);
  switch (code) {
    case "auth/popup-closed-by-user":
    case "auth/cancelled-popup-request":
    case "auth/user-cancelled":
      return null;
    case "auth/popup-blocked":
      return {
        kind: "auth-popup-blocked",
        message:
          "Your browser blocked the sign-in window. Allow pop-ups for this site and try again.",
        action: null,
      };
    case "auth/operation-not-allowed":
      return {
        kind: "auth-disabled",
        message:
          "This sign-in method is turned off for the project. If you run this app, enable it in Firebase console → Authentication → Sign-in method.",
        action: null,
      };
    case "auth/admin-restricted-operation":
      return {
        kind: "auth-guest-disabled",
        message:
          "Guest access is turned off. Sign in with Google, or (if you run this app) enable Anonymous sign-in in Firebase console → Authentication.",
        action: null,
      };
    case "auth/network-request-failed":
      return {
        kind: "auth-network",
        message: "Couldn't reach the sign-in service. Check your connection and try again.",
        action: "sign-in",
      };
    default:
      return {
        kind: "auth-failed",
        message: `Sign-in failed${code ? ` (${code})` : ""}. Try again.`,
        action: "sign-in",
      };
  }
}

/** The banner when the session code could not be loaded; the next Connect tries again. */
export const APP_LOAD_FAILED: BannerContent = {
  kind: "app-load",
  message: "Part of the app could not be loaded. Check your connection and reload.",
  action: "reload",
};

/**
 * The banner for a problem a running session reported; null for one the user cannot act on
 * (a protocol slip: logged only). A refusal by the autoplay policy shows the tap control
 * instead; `audio` is any other playback failure.
 */
export function describeProblem(problem: SessionProblem): BannerContent | null {
  switch (problem.source) {
    case "server":
      return {
        kind: "openai-error",
        message: `OpenAI reported a problem: ${problem.error.message}`,
        action: null,
      };
    case "audio":
      return {
        kind: "autoplay",
        message: "The assistant's audio could not be played. Press Enable audio to try again.",
        action: "enable-audio",
      };
    case "live":
      return {
        kind: problem.kind === "refused" ? "live-refused" : "openai-error",
        message:
          problem.kind === "refused"
            ? `The voice service refused an event this page is not allowed to send (${problem.code}).`
            : `OpenAI reported a problem: ${problem.message}`,
        action: null,
      };
    case "protocol":
      return null;
  }
}

const LIVE_CLOSES: Record<LiveCloseReason, string> = {
  close_requested: "the server hung up",
  expired: "the session reached its time limit",
  content: "the content was stopped by OpenAI's safety filter",
  remote_hangup: "the other side hung up",
  connection_lost: "the connection was lost",
};

/**
 * The banner when a GPT-Live session's `session.closed` ended the call and nothing more
 * specific (a spent budget at the deadline) explains it: the server's reason, in words and as
 * given (`#banner[data-kind]` is `live-closed-<reason>`).
 */
export function describeLiveClose(reason: LiveCloseReason): BannerContent {
  return {
    kind: `live-closed-${reason}`,
    message: `The call ended: ${LIVE_CLOSES[reason]} (${reason}).${
      reason === "connection_lost" ? "" : " Press Reconnect to start a new call."
    }`,
    // Reconnect under the banner is the one way to a new call; a lost call reconnects itself.
    action: null,
  };
}

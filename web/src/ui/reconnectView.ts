/*
 * What the page says while a dropped call is being reconnected, and when reconnecting gave
 * up. Pure, so it is unit-tested without a DOM.
 */
import type { RealtimeConnectError, ReconnectorState } from "../realtime";
import { describeConnectError, type BannerContent } from "./messages";

/**
 * The page's state as `#state[data-state]` shows it. `disconnecting`: the page's side is
 * closed and the server is being told (brokered calls).
 */
export type UiState =
  "idle" | "connecting" | "connected" | "reconnecting" | "closed" | "disconnecting";

/** How the page shows a {@link ReconnectorState}. */
export interface StateView {
  ui: UiState;
  label: string;
  /** `#state[data-reason]`: the kind of the drop being recovered from, or that ended it. */
  reason: string;
}

/** The status line for each state of the conversation. */
export function stateView(state: ReconnectorState): StateView {
  switch (state.status) {
    case "idle":
    case "failed":
      // A disconnect the user asked for, or a first call that failed (a banner explains it),
      // leaves the app ready to connect again: that is "idle" to the user.
      return { ui: "idle", label: "Not connected", reason: "" };
    case "connecting":
      return { ui: "connecting", label: "Connecting…", reason: "" };
    case "connected":
      return { ui: "connected", label: "Connected — start talking", reason: "" };
    case "reconnecting":
      return {
        ui: "reconnecting",
        label: `Reconnecting… (attempt ${state.attempt} of ${state.maxTries})`,
        reason: state.drop.kind,
      };
    case "ended":
    case "gave-up":
      return { ui: "closed", label: "Disconnected", reason: state.drop.kind };
  }
}

/**
 * The banner once reconnecting gave up. A failure that retrying cannot fix keeps the advice
 * the first call would have had (a spent minute budget, the microphone, sign-in); running out
 * of tries says how many failed and why the last one did. Either way "Try again" resumes the
 * conversation where it was.
 */
export function describeGiveUp(
  state: Extract<ReconnectorState, { status: "gave-up" }>,
  describe: (error: RealtimeConnectError) => BannerContent | null = describeConnectError,
): BannerContent {
  if (state.reason === "fatal") {
    const content = describe(state.error);
    return {
      kind: content?.kind ?? "reconnect-failed",
      message: `The call dropped and could not be reopened: ${content?.message ?? state.error.message}`,
      action: content?.action ?? null,
    };
  }
  const last = state.lastError ? ` The last try failed: ${state.lastError.message}` : "";
  return {
    kind: "reconnect-failed",
    message: `The call dropped and ${state.tries} tries to reconnect failed.${last} Press Try again to continue the conversation.`,
    action: "retry",
  };
}

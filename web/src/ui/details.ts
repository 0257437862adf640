/**
 * The rest of the usage panel: the budget row of the mode (sessions left, or voice minutes)
 * and the connection details (model, ids, where the secret came from, bytes, timings).
 */
import type { VoiceApi } from "voice-contract";
import type { ConnectTimings } from "../realtime";
import { byId, formatBytes, formatCount, setHidden } from "./dom";

/** What the call's session reported about itself (`#session-id` and its `data-*`). */
export type SessionIdView =
  | { status: "none" }
  /** `audio`: whether the assistant could already be heard when the session began. */
  | { status: "created"; id: string; audio: "paused" | "playing" };

/** Renders what it is given into the budget row and the connection details. */
export class DetailsView {
  readonly #els = {
    quotaRow: byId("quota-row", HTMLDivElement),
    quota: byId("quota-remaining", HTMLElement),
    minutesRow: byId("minutes-row", HTMLDivElement),
    model: byId("model", HTMLElement),
    api: byId("voice-api", HTMLElement),
    callId: byId("call-id", HTMLElement),
    sessionId: byId("session-id", HTMLElement),
    tokenFetches: byId("token-fetches", HTMLElement),
    tokenSource: byId("token-source", HTMLElement),
    bytesIn: byId("bytes-in", HTMLElement),
    bytesOut: byId("bytes-out", HTMLElement),
    timings: byId("connect-timings", HTMLPreElement),
  };

  /** Secret mode counts sessions (a mint each); brokered mode counts voice minutes. */
  showBudgetOf(mode: "secret" | "brokered"): void {
    setHidden(this.#els.quotaRow, mode === "brokered");
    setHidden(this.#els.minutesRow, mode !== "brokered");
  }

  renderQuota(remaining: number, limit: number): void {
    this.#els.quota.textContent = `${formatCount(remaining)} of ${formatCount(limit)}`;
  }

  /** The model a call runs (or would run), and on which API when it is known. */
  renderModel(model: string, api?: VoiceApi): void {
    this.#els.model.textContent = model;
    if (api !== undefined) this.renderApi(api);
  }

  /** Which OpenAI API the page's calls run on (`#voice-api[data-api]`). */
  renderApi(api: VoiceApi): void {
    const el = this.#els.api;
    el.textContent = api === "live" ? "GPT-Live" : "Realtime";
    el.dataset.api = api;
  }

  renderCallId(callId: string | null): void {
    this.#els.callId.textContent = callId ?? "–";
  }

  renderSessionId(session: SessionIdView): void {
    const el = this.#els.sessionId;
    el.textContent = session.status === "created" ? session.id : "–";
    el.dataset.created = String(session.status === "created");
    if (session.status === "created") el.dataset.audio = session.audio;
  }

  /** Secrets fetched so far, and where the last one came from. */
  renderTokenStats(fetches: number, source?: string): void {
    this.#els.tokenFetches.textContent = String(fetches);
    if (source !== undefined) this.#els.tokenSource.textContent = source;
  }

  renderBytes(inbound: number, outbound: number): void {
    const { bytesIn, bytesOut } = this.#els;
    bytesIn.dataset.bytes = String(inbound);
    bytesIn.textContent = formatBytes(inbound);
    bytesOut.dataset.bytes = String(outbound);
    bytesOut.textContent = formatBytes(outbound);
  }

  renderTimings(timings: ConnectTimings): void {
    this.#els.timings.textContent = JSON.stringify(timings, null, 2);
  }
}

import type { ClientEvent } from "openai/resources/live/live";
import type { ConversationLog } from "../../conversation";
import type { CloseReason, ConnectTimings, SessionProblem } from "../../types";
import { receiveChannelEvent } from "../channelEvent";
import type { SessionProtocol } from "../protocol";
import { parseLiveServerEvent, type LiveServerEvent, type LiveSessionHead } from "./parse";

/**
 * The client events a Live page sends: the ones the server's `allowed_client_events` lets
 * through (the contract's `LIVE_ALLOWED_CLIENT_EVENTS`; a test keeps the two equal). This
 * folder depends on nothing but the `openai` types, so the list is spelled here.
 */
export type LiveClientEvent = Extract<
  ClientEvent,
  { type: "session.input_audio.mute" | "session.input_audio.unmute" }
>;

/** The units the Live vocabulary drives, and the session's hooks. */
export interface LiveProtocolHost {
  readonly log: ConversationLog;
  mark(step: keyof ConnectTimings): void;
  /** `session.started`: the session's id and model. */
  started(session: LiveSessionHead): void;
  /** Cumulative billed seconds (`session.usage.updated`, then `session.closed`'s). */
  usageSeconds(seconds: number): void;
  /** The server ended the session. */
  lost(reason: CloseReason): void;
  problem(problem: SessionProblem): void;
  /** An `info` notice (e.g. that the page's events are limited): not a problem. */
  info(code: string, message: string): void;
  /** Every checked server event, after it was acted on. */
  server(event: LiveServerEvent): void;
}

/** Tells one session's turn ids from another's on the same page (a reconnect's). */
let protocols = 0;

/** The turn whose transcript deltas are arriving. */
type OpenTurn = { role: "user" | "assistant"; id: string } | null;

/**
 * GPT-Live's data-channel vocabulary as the page speaks it. Live's transcript deltas carry no
 * item ids and no "done" event: a turn runs until the other side's transcript begins (or the
 * session ends), so consecutive deltas of one side are one turn. The page sends nothing when
 * the channel opens (the server configured the session) and nothing but mute and unmute.
 * Live has no client event that stops the assistant or adds typed text to a client-delegated
 * session, so there is no `interrupt()` or `typed()` here.
 */
export class LiveProtocol implements SessionProtocol<LiveClientEvent> {
  readonly #host: LiveProtocolHost;
  readonly #idPrefix = `live${++protocols}`;
  #turn: OpenTurn = null;
  #turns = 0;
  #seconds = 0;

  constructor(host: LiveProtocolHost) {
    this.#host = host;
  }

  /** The latest cumulative billed seconds the server reported. */
  get usageSeconds(): number {
    return this.#seconds;
  }

  opening(): LiveClientEvent | null {
    return null;
  }

  sending(): void {}

  receive(data: unknown): void {
    receiveChannelEvent(data, parseLiveServerEvent, (event) => this.#handle(event), this.#host);
  }

  close(): void {
    this.#settle();
  }

  #handle(event: LiveServerEvent): void {
    switch (event.type) {
      case "session.started":
        this.#host.mark("sessionCreated");
        this.#host.started(event.session);
        break;
      case "session.input_transcript.delta":
        this.#append("user", event.delta);
        break;
      case "session.output_transcript.delta":
        this.#append("assistant", event.delta);
        break;
      case "session.usage.updated":
        this.#usage(event.usage.seconds);
        break;
      case "session.closed":
        this.#usage(event.usage.seconds);
        this.#settle();
        this.#host.lost({
          kind: "live-closed",
          reason: event.reason,
          usageSeconds: this.#seconds,
        });
        break;
      case "error": {
        const { code, message } = event.error;
        const kind =
          code === "client_event_not_allowed"
            ? "refused"
            : event.error.client_event_id !== undefined
              ? "request"
              : "server";
        this.#host.problem({ source: "live", kind, code, message });
        break;
      }
      case "info":
        this.#host.info(event.code, event.message);
        break;
      case "session.input_audio.muted":
      case "session.input_audio.unmuted":
        break;
    }
  }

  /** Cumulative: a lower figure (reordered, or a newer server's) never lowers the total. */
  #usage(seconds: number): void {
    if (seconds <= this.#seconds) return;
    this.#seconds = seconds;
    this.#host.usageSeconds(seconds);
  }

  #append(role: "user" | "assistant", delta: string): void {
    const { log } = this.#host;
    if (this.#turn?.role !== role) {
      this.#settle();
      const id = `${this.#idPrefix}_${role}_${++this.#turns}`;
      this.#turn = { role, id };
      if (role === "user") log.startVoice(id);
      else log.startAssistant(id);
    }
    const id = this.#turn.id;
    if (role === "user") log.appendUserTranscript(id, delta);
    else log.appendAssistant(id, delta);
  }

  /** The open turn is complete: the other side began, or the session ended. */
  #settle(): void {
    const turn = this.#turn;
    if (!turn) return;
    this.#turn = null;
    if (turn.role === "user") this.#host.log.finishUserTranscript(turn.id, null, "done");
    else this.#host.log.settleAssistant(turn.id, "done");
  }
}

import type { RealtimeClientEvent } from "openai/resources/realtime/realtime";
import { EMPTY_USAGE, addUsage, type ConversationLog } from "../../conversation";
import { serverLimitReason } from "../../liveness";
import { playedMs, type ResponseTracker } from "../../playback";
import type { ToolRunner } from "../../tools";
import type {
  Clock,
  CloseReason,
  ConnectTimings,
  SessionProblem,
  SessionUpdate,
  SpeakingState,
  UsageTotals,
} from "../../types";
import { receiveChannelEvent } from "../channelEvent";
import type { SessionProtocol } from "../protocol";
import {
  parseResponseDone,
  parseServerEvent,
  type ItemHead,
  type OpenAIServerEvent,
} from "./parse";

/** The units the OpenAI Realtime vocabulary drives, and the session's hooks. */
export interface OpenAIProtocolHost {
  readonly log: ConversationLog;
  readonly tools: ToolRunner;
  readonly responses: ResponseTracker;
  readonly clock: Clock;
  /** Extra session fields for the opening `session.update`. */
  readonly session: SessionUpdate | undefined;
  setSpeaking(change: Partial<SpeakingState>): void;
  mark(step: keyof ConnectTimings): void;
  /** The server ended the session. */
  lost(reason: CloseReason): void;
  problem(problem: SessionProblem): void;
  /** Every checked server event, after it was acted on. */
  server(event: OpenAIServerEvent): void;
  usage(totals: UsageTotals): void;
}

/**
 * The OpenAI Realtime event vocabulary: what goes out when the channel opens (the tools and
 * session fields), how each checked server event updates the conversation, the tools, the
 * responses and playback, who is speaking and the usage, and the client events behind
 * `sendText()` and `interrupt()`.
 */
export class OpenAIRealtimeProtocol implements SessionProtocol<RealtimeClientEvent> {
  readonly #host: OpenAIProtocolHost;
  #usage: UsageTotals = { ...EMPTY_USAGE };
  /** Ids of items this client created with an id of its own (a replayed conversation). */
  readonly #ownItemIds = new Set<string>();

  constructor(host: OpenAIProtocolHost) {
    this.#host = host;
  }

  /** Token usage summed over every completed response. */
  get usage(): UsageTotals {
    return { ...this.#usage };
  }

  opening(): RealtimeClientEvent | null {
    const { tools, session } = this.#host;
    // The tools go first so that nothing queued can start a response without them.
    if (tools.size === 0 && !session) return null;
    return {
      type: "session.update",
      session: {
        type: "realtime",
        ...session,
        ...(tools.size > 0 ? { tools: tools.definitions(), tool_choice: "auto" } : {}),
      },
    };
  }

  /** The `session.update` that declares the current tool list. */
  toolsUpdate(): RealtimeClientEvent {
    const definitions = this.#host.tools.definitions();
    return {
      type: "session.update",
      session: { type: "realtime", tools: definitions, tool_choice: "auto" },
    };
  }

  sending(event: RealtimeClientEvent): void {
    if (event.type === "conversation.item.create" && event.item.id) {
      this.#ownItemIds.add(event.item.id);
    }
  }

  /** Logs a typed message; returns the events that send it and ask for a response. */
  typed(text: string): RealtimeClientEvent[] {
    this.#host.log.addTyped(text);
    return [
      {
        type: "conversation.item.create",
        item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
      },
      { type: "response.create" },
    ];
  }

  /**
   * Cancels the response in flight (only if there is one), clears the output audio buffer
   * and truncates the playing item to what actually played. False: nothing to interrupt.
   */
  interrupt(send: (event: RealtimeClientEvent) => void): boolean {
    const { responses, log, clock } = this.#host;
    const inFlight = responses.inFlight;
    const playback = responses.playback;
    if (!inFlight && !playback) return false;
    if (inFlight) send({ type: "response.cancel", event_id: responses.cancelSent() });
    send({ type: "output_audio_buffer.clear" });
    if (playback) {
      const played = playedMs(playback, clock.now());
      if (playback.itemId) {
        send({
          type: "conversation.item.truncate",
          item_id: playback.itemId,
          content_index: 0,
          audio_end_ms: played,
        });
        log.markInterrupted(playback.itemId);
      }
      responses.audioEnded();
      this.#host.setSpeaking({ assistant: false });
    }
    return true;
  }

  receive(data: unknown): void {
    receiveChannelEvent(data, parseServerEvent, (event) => this.#handle(event), this.#host);
  }

  close(): void {
    this.#host.responses.clear();
    this.#host.tools.clear();
    // Typed messages the server never acknowledged did not arrive, whatever the channel took.
    this.#host.log.failUnsent();
  }

  /** Routes each server event to the unit that keeps its state. */
  #handle(event: OpenAIServerEvent): void {
    const { log, responses } = this.#host;
    switch (event.type) {
      case "session.created":
        this.#host.mark("sessionCreated");
        break;
      case "error": {
        // A cancel that crossed its response's end: expected, not a problem to report.
        if (responses.cancelRaced(event.error)) break;
        const limit = serverLimitReason(event.error);
        if (limit) this.#host.lost(limit);
        else this.#host.problem({ source: "server", error: event.error });
        break;
      }
      case "input_audio_buffer.speech_started":
        this.#host.setSpeaking({ user: true });
        break;
      case "input_audio_buffer.speech_stopped":
      case "input_audio_buffer.timeout_triggered":
        this.#host.setSpeaking({ user: false });
        break;
      case "conversation.item.added":
        this.#onItemAdded(event.item);
        break;
      case "conversation.item.input_audio_transcription.delta":
        log.appendUserTranscript(event.item_id, event.delta ?? "");
        break;
      case "conversation.item.input_audio_transcription.completed":
        log.finishUserTranscript(event.item_id, event.transcript, "done");
        break;
      case "conversation.item.input_audio_transcription.failed":
        log.finishUserTranscript(event.item_id, null, "failed");
        break;
      case "conversation.item.truncated":
        log.markInterrupted(event.item_id);
        break;
      default:
        this.#handleResponse(event);
    }
  }

  /** The events of a response and of its audio. */
  #handleResponse(event: OpenAIServerEvent): void {
    const { log, responses, tools } = this.#host;
    switch (event.type) {
      case "response.created":
        if (event.response.id) responses.responseCreated(event.response.id);
        break;
      case "response.output_item.added": {
        const { item } = event;
        if (item.type === "message" && item.role === "assistant" && item.id) {
          responses.messageAdded(event.response_id, item.id);
          log.startAssistant(item.id);
        }
        break;
      }
      case "response.output_audio_transcript.delta":
      case "response.output_text.delta":
        log.appendAssistant(event.item_id, event.delta);
        break;
      case "response.output_audio_transcript.done":
        log.finishAssistant(event.item_id, event.transcript);
        break;
      case "response.output_text.done":
        log.finishAssistant(event.item_id, event.text);
        break;
      case "response.function_call_arguments.done":
        tools.run(event.response_id, event.call_id, event.name, event.arguments);
        break;
      case "response.output_item.done": {
        const { type, call_id, name, arguments: args } = event.item;
        if (type === "function_call" && call_id && name) {
          tools.run(event.response_id, call_id, name, args ?? "");
        }
        break;
      }
      case "response.done":
        this.#onResponseDone(event.response);
        break;
      case "output_audio_buffer.started":
        responses.audioStarted(event.response_id, this.#host.clock.now());
        this.#host.setSpeaking({ assistant: true });
        break;
      case "output_audio_buffer.stopped":
      case "output_audio_buffer.cleared":
        responses.audioEnded();
        this.#host.setSpeaking({ assistant: false });
        break;
      default:
        break;
    }
  }

  #onItemAdded(item: ItemHead): void {
    if (item.type !== "message" || item.role !== "user" || !item.id) return;
    // The echo of an item sent with its own id (a replay after a reconnect) is neither a
    // typed message waiting for its id nor a new spoken turn.
    if (this.#ownItemIds.has(item.id)) return;
    const first = item.content?.[0];
    if (first?.type === "input_text") {
      // The server's copy of a typed message: adopt its id so later events can find it.
      this.#host.log.adoptTextId(item.id);
    } else if (first?.type === "input_audio") {
      this.#host.log.startVoice(item.id);
    }
  }

  #onResponseDone(response: unknown): void {
    const { log, responses, tools } = this.#host;
    const done = parseResponseDone(response);
    if (done.id) responses.responseDone(done.id);
    const usage = addUsage(this.#usage, done.usage);
    if (usage) {
      this.#usage = usage;
      this.#host.usage(this.usage);
    }
    if (done.error) this.#host.problem({ source: "server", error: done.error });
    if (!done.id) return;
    // A turn whose transcript never finished (cancelled, cut off) must not stay open.
    const settled = done.status === "completed" ? "done" : "interrupted";
    for (const id of done.messageIds) log.settleAssistant(id, settled);
    // A call seen only here (its argument events lost) still deserves an answer.
    for (const call of done.calls) tools.run(done.id, call.callId, call.name, call.arguments);
    tools.responseDone(done.id, done.status);
  }
}

/**
 * The scripted conversation: a state machine that maps client events, received mic audio
 * and the progress of the outgoing audio to the server events upstream would send. It does
 * no I/O and reads no clock; the call wiring executes the returned effects (send an event,
 * start or stop the outgoing audio) and reports audio progress back.
 *
 * This module routes events and owns the session and the turns; the parts live next to it:
 * `item-events.ts` (the item verbs, over `items.ts`), `input-audio.ts` (the input buffer,
 * turn detection), `responder.ts` (which response generates and plays, over `script.ts`,
 * what to answer, and `responses.ts`, a response's events).
 */
import type {
  InputAudioBufferClearedEvent,
  InputAudioBufferSpeechStartedEvent,
  InputAudioBufferSpeechStoppedEvent,
  RealtimeClientEvent,
  RealtimeError,
  SessionCreatedEvent,
  SessionUpdatedEvent,
} from "openai/resources/realtime/realtime";
import { parseClientEvent, type ParsedClientEvent } from "./client-events.js";
import { invalidRequest, send, sendError, type Effect } from "./effects.js";
import type { NewId } from "./ids.js";
import { InputAudio, SCRIPT } from "./input-audio.js";
import { ItemEvents } from "./item-events.js";
import type { ItemRecord } from "./items.js";
import { Responder } from "./responder.js";
import { mergeSession, type Session } from "./session.js";

export type { Effect } from "./effects.js";

export interface ConversationOptions {
  /** The resolved session (from the client secret) the call starts with. */
  session: Session;
  newId: NewId;
  /** Length of each scripted spoken answer. */
  responseAudioMs: number;
}

/**
 * One call's conversation. Feed it data-channel messages (`receive`/`handle`), mic packets
 * (`micPacket`) and outgoing-audio progress (`audioProgress`/`audioFinished`); each returns
 * the effects to carry out, in order.
 */
export class Conversation {
  private session: Session;
  private readonly newId: NewId;
  private readonly items: ItemEvents;
  private readonly input: InputAudio;
  private readonly responses: Responder;

  constructor(options: ConversationOptions) {
    this.session = options.session;
    this.newId = options.newId;
    const conversationId = options.newId("conv");
    this.items = new ItemEvents(options.newId);
    this.input = new InputAudio(options.newId);
    this.responses = new Responder({
      newId: options.newId,
      conversationId,
      items: this.items.store,
      responseAudioMs: options.responseAudioMs,
    });
  }

  /** The session as it stands after any `session.update`s. */
  get currentSession(): Session {
    return this.session;
  }

  /** The conversation's items in order, as text (the state endpoint's record). */
  get itemRecords(): ItemRecord[] {
    return this.items.records;
  }

  /** True while a response is being generated (and cancellable). */
  get responding(): boolean {
    return this.responses.responding;
  }

  /** The greeting upstream sends as soon as the data channel opens. */
  start(): Effect[] {
    return [
      send({
        type: "session.created",
        event_id: this.eventId(),
        session: this.session,
      } satisfies SessionCreatedEvent),
    ];
  }

  /** Handles one raw data-channel message. */
  receive(raw: string | Buffer): Effect[] {
    return this.handle(parseClientEvent(raw));
  }

  /** Handles an already parsed message (the wiring parses once to record the event type). */
  handle(parsed: ParsedClientEvent): Effect[] {
    if (!parsed.ok) return [this.error(parsed.error)];
    return this.dispatch(parsed.event);
  }

  private dispatch(event: RealtimeClientEvent): Effect[] {
    const clientEventId = event.event_id ?? null;
    switch (event.type) {
      case "session.update":
        return this.updateSession(event.session, clientEventId);
      case "conversation.item.create":
        return this.items.create(event.item, event.previous_item_id, clientEventId);
      case "conversation.item.retrieve":
        return this.items.retrieve(event.item_id, clientEventId);
      case "conversation.item.delete":
        return this.items.delete(event.item_id, clientEventId);
      case "conversation.item.truncate":
        return this.items.truncate(
          {
            itemId: event.item_id,
            contentIndex: event.content_index,
            audioEndMs: event.audio_end_ms,
          },
          this.responses.streamingItem,
          clientEventId,
        );
      case "input_audio_buffer.append":
        this.input.append(event.audio);
        return [];
      case "input_audio_buffer.commit":
        return this.commitBuffer(clientEventId);
      case "input_audio_buffer.clear":
        this.input.clear();
        return [
          send({
            type: "input_audio_buffer.cleared",
            event_id: this.eventId(),
          } satisfies InputAudioBufferClearedEvent),
        ];
      case "output_audio_buffer.clear":
        return this.responses.clearOutputAudio();
      case "response.create":
        return this.responses.create(event.response ?? {}, this.session, clientEventId);
      case "response.cancel":
        return this.responses.cancelRequested(event.response_id, clientEventId);
    }
  }

  private updateSession(
    update: Extract<RealtimeClientEvent, { type: "session.update" }>["session"],
    clientEventId: string | null,
  ): Effect[] {
    if (update.type !== "realtime") return [];
    if (update.model !== undefined && update.model !== this.session.model)
      return [
        this.error(
          invalidRequest(
            "invalid_value",
            `Cannot update a session's model (it is '${this.session.model}'). Start a new session to use another model.`,
            "session.model",
            clientEventId,
          ),
        ),
      ];
    const voice = update.audio?.output?.voice;
    if (
      voice !== undefined &&
      voice !== this.session.audio?.output?.voice &&
      this.responses.hasSpoken
    )
      return [
        this.error(
          invalidRequest(
            "cannot_update_voice",
            "Cannot update a conversation's voice if assistant audio is present.",
            "session.audio.output.voice",
            clientEventId,
          ),
        ),
      ];
    this.session = mergeSession(this.session, update);
    return [
      send({
        type: "session.updated",
        event_id: this.eventId(),
        session: this.session,
      } satisfies SessionUpdatedEvent),
    ];
  }

  /**
   * One received mic RTP packet: with turn detection on, it may start a user turn
   * (interrupting the assistant) or end one (committing it and answering).
   */
  micPacket(payloadBytes: number): Effect[] {
    const detection = this.session.audio?.input?.turn_detection;
    const turn = this.input.packet(payloadBytes, detection);
    if (!turn || !detection) return [];
    if (turn.kind === "speech_started") {
      const out: Effect[] = [
        send({
          type: "input_audio_buffer.speech_started",
          event_id: this.eventId(),
          audio_start_ms: turn.audioStartMs,
          item_id: turn.itemId,
        } satisfies InputAudioBufferSpeechStartedEvent),
      ];
      if (detection.interrupt_response !== false) out.push(...this.responses.interruptBySpeech());
      return out;
    }
    const out: Effect[] = [
      send({
        type: "input_audio_buffer.speech_stopped",
        event_id: this.eventId(),
        audio_end_ms: turn.audioEndMs,
        item_id: turn.itemId,
      } satisfies InputAudioBufferSpeechStoppedEvent),
      ...this.items.commitUserAudio(turn.itemId, turn.speechMs, "speech", this.transcribes()),
    ];
    if (detection.create_response !== false && !this.responses.responding)
      out.push(...this.responses.start({}, this.session));
    return out;
  }

  private commitBuffer(clientEventId: string | null): Effect[] {
    const ms = this.input.bufferedMs;
    if (ms < SCRIPT.minCommitMs)
      return [
        this.error(
          invalidRequest(
            "input_audio_buffer_commit_empty",
            `Error committing input audio buffer: buffer too small. Expected at least ${SCRIPT.minCommitMs}ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
            null,
            clientEventId,
          ),
        ),
      ];
    return this.items.commitUserAudio(this.input.take(), ms, "audio", this.transcribes());
  }

  private transcribes(): boolean {
    return Boolean(this.session.audio?.input?.transcription);
  }

  /**
   * Progress of the outgoing audio for a response: generation runs ahead of it (see
   * `GENERATION` in responses.ts), and the response is done once all of it is generated.
   */
  audioProgress(responseId: string, sentMs: number): Effect[] {
    return this.responses.audioProgress(responseId, sentMs);
  }

  /** The outgoing audio for a response played to its end. */
  audioFinished(responseId: string): Effect[] {
    return this.responses.audioFinished(responseId);
  }

  /** A session-ending error, sent before the call closes at its maximum duration. */
  expire(maxSeconds: number): Effect[] {
    const minutes = maxSeconds / 60;
    return [
      this.error(
        invalidRequest(
          "session_expired",
          `Your session hit the maximum duration of ${Number.isInteger(minutes) ? `${minutes} minutes` : `${maxSeconds} seconds`}.`,
          null,
          null,
        ),
      ),
    ];
  }

  private error(error: RealtimeError): Effect {
    return sendError(this.newId, error);
  }

  private eventId(): string {
    return this.newId("event");
  }
}

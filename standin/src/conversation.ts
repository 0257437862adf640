/**
 * The scripted conversation: a state machine that maps client events, received mic audio
 * and the progress of the outgoing audio to the server events upstream would send. It does
 * no I/O and reads no clock; the call wiring executes the returned effects (send an event,
 * start or stop the outgoing audio) and reports audio progress back.
 *
 * This module routes events and owns the conversation's state; the parts live next to it:
 * `items.ts` (the item list, truncation), `input-audio.ts` (the input buffer, turn
 * detection), `script.ts` (what to answer) and `responses.ts` (a response's events).
 */
import type {
  ConversationItem,
  ConversationItemAdded,
  ConversationItemDeletedEvent,
  ConversationItemDone,
  ConversationItemInputAudioTranscriptionCompletedEvent,
  ConversationItemTruncatedEvent,
  InputAudioBufferClearedEvent,
  InputAudioBufferCommittedEvent,
  InputAudioBufferSpeechStartedEvent,
  InputAudioBufferSpeechStoppedEvent,
  RealtimeClientEvent,
  RealtimeConversationItemUserMessage,
  RealtimeError,
  RealtimeErrorEvent,
  RealtimeResponse,
  RealtimeResponseCreateParams,
  RealtimeServerEvent,
  ResponseCreatedEvent,
  SessionCreatedEvent,
  SessionUpdatedEvent,
} from "openai/resources/realtime/realtime";
import { parseClientEvent, type ParsedClientEvent } from "./client-events.js";
import { send, type Effect } from "./effects.js";
import type { NewId } from "./ids.js";
import { InputAudio, SCRIPT } from "./input-audio.js";
import {
  ItemStore,
  itemRecord,
  truncateItem,
  truncationProblem,
  type ItemRecord,
  type StoredItem,
} from "./items.js";
import {
  functionCallResponse,
  inputUsage,
  MessageResponse,
  type ResponseSetup,
} from "./responses.js";
import { planAnswer } from "./script.js";
import { mergeSession, outputModality, type Session } from "./session.js";

export type { Effect } from "./effects.js";

/**
 * A user audio part before its transcription: upstream sends `transcript: null` (and keeps it
 * so when transcription is off). The `openai` types say `transcript?: string`, but OpenAI's
 * own Agents SDK requires the key and rejects an item without it.
 */
const PENDING_TRANSCRIPT = {
  type: "input_audio",
  transcript: null,
} as unknown as RealtimeConversationItemUserMessage.Content;

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
  private readonly responseAudioMs: number;
  private readonly conversationId: string;
  private readonly items = new ItemStore();
  private readonly input: InputAudio;
  /**
   * The spoken answer being generated; text answers and function calls complete at once, so
   * they are never active.
   */
  private active: MessageResponse | undefined;
  /** The spoken answer whose audio is playing: the active one, or one done generating. */
  private playing: MessageResponse | undefined;
  private lastResponseId: string | undefined;
  /** Upstream locks the voice once the assistant has spoken. */
  private audioProduced = false;

  constructor(options: ConversationOptions) {
    this.session = options.session;
    this.newId = options.newId;
    this.responseAudioMs = options.responseAudioMs;
    this.conversationId = options.newId("conv");
    this.input = new InputAudio(options.newId);
  }

  /** The session as it stands after any `session.update`s. */
  get currentSession(): Session {
    return this.session;
  }

  /** The conversation's items in order, as text (the state endpoint's record). */
  get itemRecords(): ItemRecord[] {
    return this.items.all.map(itemRecord);
  }

  /** True while a response is being generated (and cancellable). */
  get responding(): boolean {
    return this.active !== undefined;
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
        return this.createItem(event.item, event.previous_item_id, clientEventId);
      case "conversation.item.retrieve": {
        const stored = this.items.find(event.item_id);
        if (!stored) return [this.itemNotFound("retrieve", event.item_id, clientEventId)];
        return [
          send({
            type: "conversation.item.retrieved",
            event_id: this.eventId(),
            item: stored.item,
          } satisfies RealtimeServerEvent.ConversationItemRetrieved),
        ];
      }
      case "conversation.item.delete":
        if (!this.items.remove(event.item_id))
          return [this.itemNotFound("delete", event.item_id, clientEventId)];
        return [
          send({
            type: "conversation.item.deleted",
            event_id: this.eventId(),
            item_id: event.item_id,
          } satisfies ConversationItemDeletedEvent),
        ];
      case "conversation.item.truncate":
        return this.truncate(event.item_id, event.content_index, event.audio_end_ms, clientEventId);
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
        return this.clearOutputAudio();
      case "response.create":
        if (this.active)
          return [
            this.error({
              type: "invalid_request_error",
              code: "conversation_already_has_active_response",
              message: `Conversation already has an active response in progress: ${this.active.id}. Wait until the response is finished before creating a new one.`,
              param: null,
              event_id: clientEventId,
            }),
          ];
        return this.startResponse(event.response ?? {});
      case "response.cancel":
        if (
          !this.active ||
          (event.response_id !== undefined && event.response_id !== this.active.id)
        )
          return [
            this.error({
              type: "invalid_request_error",
              code: "response_cancel_not_active",
              message: "Cancellation failed: no active response found",
              param: null,
              event_id: clientEventId,
            }),
          ];
        return this.cancel("client_cancelled");
    }
  }

  // --- session ---------------------------------------------------------------------------

  private updateSession(
    update: Extract<RealtimeClientEvent, { type: "session.update" }>["session"],
    clientEventId: string | null,
  ): Effect[] {
    if (update.type !== "realtime") return [];
    if (update.model !== undefined && update.model !== this.session.model)
      return [
        this.error({
          type: "invalid_request_error",
          code: "invalid_value",
          message: `Cannot update a session's model (it is '${this.session.model}'). Start a new session to use another model.`,
          param: "session.model",
          event_id: clientEventId,
        }),
      ];
    const voice = update.audio?.output?.voice;
    if (voice !== undefined && voice !== this.session.audio?.output?.voice && this.audioProduced)
      return [
        this.error({
          type: "invalid_request_error",
          code: "cannot_update_voice",
          message: "Cannot update a conversation's voice if assistant audio is present.",
          param: "session.audio.output.voice",
          event_id: clientEventId,
        }),
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

  // --- conversation items ----------------------------------------------------------------

  private itemNotFound(
    action: "retrieve" | "delete" | "truncate",
    id: string,
    eventId: string | null,
  ): Effect {
    return this.error({
      type: "invalid_request_error",
      code: `item_${action}_invalid_item_id`,
      message: `Error ${action === "retrieve" ? "retrieving" : action === "delete" ? "deleting" : "truncating"} item: the item with id '${id}' does not exist.`,
      param: "item_id",
      event_id: eventId,
    });
  }

  private createItem(
    item: ConversationItem,
    previousItemId: string | undefined,
    clientEventId: string | null,
  ): Effect[] {
    const requestedId = "id" in item && typeof item.id === "string" ? item.id : undefined;
    if (requestedId !== undefined && this.items.find(requestedId))
      return [
        this.error({
          type: "invalid_request_error",
          code: "invalid_value",
          message: `Item with id '${requestedId}' already exists.`,
          param: "item.id",
          event_id: clientEventId,
        }),
      ];
    const index = this.items.positionAfter(previousItemId);
    if (index === undefined)
      return [
        this.error({
          type: "invalid_request_error",
          code: "invalid_value",
          message: `The previous_item_id '${previousItemId}' does not exist.`,
          param: "previous_item_id",
          event_id: clientEventId,
        }),
      ];
    const stored: StoredItem = {
      item: {
        ...item,
        id: requestedId ?? this.newId("item"),
        object: "realtime.item",
        status: "completed",
      } as StoredItem["item"],
      audioMs: 0,
    };
    const previous = this.items.insertAt(index, stored);
    return this.itemAddedAndDone(stored.item, previous);
  }

  private itemAddedAndDone(item: ConversationItem, previous: string | null): Effect[] {
    return [
      send({
        type: "conversation.item.added",
        event_id: this.eventId(),
        previous_item_id: previous,
        item,
      } satisfies ConversationItemAdded),
      send({
        type: "conversation.item.done",
        event_id: this.eventId(),
        previous_item_id: previous,
        item,
      } satisfies ConversationItemDone),
    ];
  }

  private truncate(
    itemId: string,
    contentIndex: number,
    audioEndMs: number,
    clientEventId: string | null,
  ): Effect[] {
    const stored = this.items.find(itemId);
    if (!stored) return [this.itemNotFound("truncate", itemId, clientEventId)];
    const streaming = this.playing?.stored === stored;
    const problem = truncationProblem(stored, contentIndex, audioEndMs, streaming);
    if (problem)
      return [
        this.error({
          type: "invalid_request_error",
          code: "invalid_value",
          ...problem,
          event_id: clientEventId,
        }),
      ];
    truncateItem(stored, audioEndMs);
    return [
      send({
        type: "conversation.item.truncated",
        event_id: this.eventId(),
        item_id: itemId,
        content_index: contentIndex,
        audio_end_ms: audioEndMs,
      } satisfies ConversationItemTruncatedEvent),
    ];
  }

  // --- input audio -----------------------------------------------------------------------

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
      if (detection.interrupt_response !== false) out.push(...this.interruptBySpeech());
      return out;
    }
    const out: Effect[] = [
      send({
        type: "input_audio_buffer.speech_stopped",
        event_id: this.eventId(),
        audio_end_ms: turn.audioEndMs,
        item_id: turn.itemId,
      } satisfies InputAudioBufferSpeechStoppedEvent),
      ...this.commitUserAudio(turn.itemId, turn.speechMs, "speech"),
    ];
    if (detection.create_response !== false && !this.active) out.push(...this.startResponse({}));
    return out;
  }

  private commitBuffer(clientEventId: string | null): Effect[] {
    const ms = this.input.bufferedMs;
    if (ms < SCRIPT.minCommitMs)
      return [
        this.error({
          type: "invalid_request_error",
          code: "input_audio_buffer_commit_empty",
          message: `Error committing input audio buffer: buffer too small. Expected at least ${SCRIPT.minCommitMs}ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
          param: null,
          event_id: clientEventId,
        }),
      ];
    return this.commitUserAudio(this.input.take(), ms, "audio");
  }

  private commitUserAudio(itemId: string, ms: number, what: "speech" | "audio"): Effect[] {
    const previous = this.items.lastId();
    const spokenText = `Placeholder transcript: ${ms} ms of ${what}.`;
    const item: RealtimeConversationItemUserMessage & { id: string } = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      role: "user",
      status: "completed",
      content: [PENDING_TRANSCRIPT],
    };
    const stored: StoredItem = { item, audioMs: 0, spokenText };
    this.items.append(stored);
    const out: Effect[] = [
      send({
        type: "input_audio_buffer.committed",
        event_id: this.eventId(),
        item_id: itemId,
        previous_item_id: previous,
      } satisfies InputAudioBufferCommittedEvent),
      ...this.itemAddedAndDone(stored.item, previous),
    ];
    if (this.session.audio?.input?.transcription) {
      item.content = [{ type: "input_audio", transcript: spokenText }];
      out.push(
        send({
          type: "conversation.item.input_audio_transcription.completed",
          event_id: this.eventId(),
          item_id: itemId,
          content_index: 0,
          transcript: spokenText,
          usage: { type: "duration", seconds: ms / 1000 },
        } satisfies ConversationItemInputAudioTranscriptionCompletedEvent),
      );
    }
    return out;
  }

  // --- responses -------------------------------------------------------------------------

  private startResponse(params: RealtimeResponseCreateParams): Effect[] {
    const modality = outputModality(params.output_modalities ?? this.session.output_modalities);
    const inConversation = params.conversation !== "none";
    const context: readonly StoredItem[] = params.input
      ? params.input.map(
          (item) =>
            this.items.find(("id" in item && item.id) || "") ?? {
              item: item as StoredItem["item"],
              audioMs: 0,
            },
        )
      : this.items.all;
    const plan = planAnswer(context, params, this.session);
    const id = this.newId("resp");
    this.lastResponseId = id;
    const base: RealtimeResponse & { id: string } = {
      id,
      object: "realtime.response",
      status: "in_progress",
      output: [],
      conversation_id: inConversation ? this.conversationId : undefined,
      output_modalities: [modality],
      max_output_tokens: params.max_output_tokens ?? this.session.max_output_tokens ?? "inf",
      audio: {
        output: {
          format: this.session.audio?.output?.format,
          voice: this.session.audio?.output?.voice,
        },
      },
      metadata: params.metadata ?? null,
    };
    const setup: ResponseSetup = {
      base,
      conversation: inConversation ? this.items : undefined,
      previousItemId: this.items.lastId(),
      inputUsage: inputUsage(context, this.session.instructions ?? ""),
      newId: this.newId,
    };
    const out: Effect[] = [
      send({
        type: "response.created",
        event_id: this.eventId(),
        response: base,
      } satisfies ResponseCreatedEvent),
    ];
    if (plan.kind === "function_call") return [...out, ...functionCallResponse(setup, plan)];
    const response = new MessageResponse(setup, plan.text, modality, this.responseAudioMs);
    if (modality === "audio") {
      // Its audio takes over the output buffer from an answer still playing.
      if (this.playing) out.push(...this.playing.replaced());
      this.active = response;
      this.playing = response;
      this.audioProduced = true;
    }
    out.push(...response.begin());
    return out;
  }

  /**
   * Progress of the outgoing audio for a response: generation runs ahead of it (see
   * `GENERATION` in responses.ts), and the response is done once all of it is generated.
   */
  audioProgress(responseId: string, sentMs: number): Effect[] {
    const playing = this.playing;
    if (!playing || playing.id !== responseId) return [];
    const out = playing.progress(sentMs);
    if (this.active === playing && !playing.generating) this.active = undefined;
    return out;
  }

  /** The outgoing audio for a response played to its end. */
  audioFinished(responseId: string): Effect[] {
    const playing = this.playing;
    if (!playing || playing.id !== responseId) return [];
    this.playing = undefined;
    if (this.active === playing) this.active = undefined;
    return playing.playedOut();
  }

  private cancel(reason: "client_cancelled" | "turn_detected"): Effect[] {
    const active = this.active;
    if (!active) return [];
    this.active = undefined;
    if (this.playing === active) this.playing = undefined;
    return active.cancel(reason);
  }

  /**
   * New speech with `interrupt_response`: cancels a response being generated, or clears the
   * audio of one that is done generating but still playing.
   */
  private interruptBySpeech(): Effect[] {
    if (this.active) return this.cancel("turn_detected");
    const playing = this.playing;
    if (!playing) return [];
    this.playing = undefined;
    return playing.clearAudio();
  }

  /** `output_audio_buffer.clear`: cuts the audio; see {@link MessageResponse.clearAudio}. */
  private clearOutputAudio(): Effect[] {
    const playing = this.playing;
    if (!playing)
      return [
        send({
          type: "output_audio_buffer.cleared",
          event_id: this.eventId(),
          response_id: this.lastResponseId ?? "",
        } satisfies RealtimeServerEvent.OutputAudioBufferCleared),
      ];
    this.playing = undefined;
    if (this.active === playing) this.active = undefined;
    return playing.clearAudio();
  }

  /** A session-ending error, sent before the call closes at its maximum duration. */
  expire(maxSeconds: number): Effect[] {
    const minutes = maxSeconds / 60;
    return [
      this.error({
        type: "invalid_request_error",
        code: "session_expired",
        message: `Your session hit the maximum duration of ${Number.isInteger(minutes) ? `${minutes} minutes` : `${maxSeconds} seconds`}.`,
        param: null,
        event_id: null,
      }),
    ];
  }

  private error(error: RealtimeError): Effect {
    return send({ type: "error", event_id: this.eventId(), error } satisfies RealtimeErrorEvent);
  }

  private eventId(): string {
    return this.newId("event");
  }
}

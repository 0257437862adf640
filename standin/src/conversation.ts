/**
 * The scripted conversation: a state machine that maps client events, received mic audio
 * and the progress of the outgoing audio to the server events upstream would send. It does
 * no I/O and reads no clock; the call wiring executes the returned effects (send an event,
 * start or stop the outgoing audio) and reports audio progress back.
 */
import type { RealtimeFunctionTool } from "openai/resources/realtime/realtime";
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
  RealtimeConversationItemAssistantMessage,
  RealtimeConversationItemFunctionCall,
  RealtimeConversationItemUserMessage,
  RealtimeError,
  RealtimeErrorEvent,
  RealtimeResponse,
  RealtimeResponseCreateParams,
  RealtimeResponseUsage,
  RealtimeServerEvent,
  ResponseAudioTranscriptDeltaEvent,
  ResponseAudioTranscriptDoneEvent,
  ResponseContentPartAddedEvent,
  ResponseContentPartDoneEvent,
  ResponseCreatedEvent,
  ResponseDoneEvent,
  ResponseFunctionCallArgumentsDeltaEvent,
  ResponseFunctionCallArgumentsDoneEvent,
  ResponseOutputItemAddedEvent,
  ResponseOutputItemDoneEvent,
  ResponseTextDeltaEvent,
  ResponseTextDoneEvent,
  SessionCreatedEvent,
  SessionUpdatedEvent,
} from "openai/resources/realtime/realtime";
import { parseClientEvent, type ParsedClientEvent } from "./client-events.js";
import type { NewId } from "./ids.js";
import { functionTools, mergeSession, outputModality, type Session } from "./session.js";

/** What the call wiring must do on the conversation's behalf. */
export type Effect =
  | { kind: "send"; event: RealtimeServerEvent }
  | { kind: "audio.start"; responseId: string; durationMs: number }
  | { kind: "audio.stop"; responseId: string };

export interface ConversationOptions {
  /** The resolved session (from the client secret) the call starts with. */
  session: Session;
  newId: NewId;
  /** Length of each scripted spoken answer. */
  responseAudioMs: number;
}

/** Scripted-behaviour constants; documented in the README. */
export const SCRIPT = {
  /** Every received mic RTP packet stands for this much audio (browsers send 20 ms Opus frames). */
  micPacketMs: 20,
  /**
   * A mic packet whose Opus payload has at least this many bytes counts as speech. Opus
   * encodes silence in a few bytes (the canonical silence frame is 3) and speech in
   * 60–120 bytes at browser bitrates.
   */
  voicedMinBytes: 48,
  /** Upstream refuses to commit less audio than this. */
  minCommitMs: 100,
  /** Semantic VAD has no silence setting; the stand-in ends the turn after this much silence. */
  semanticSilenceMs: 500,
} as const;

type Plan =
  { kind: "message"; text: string } | { kind: "function_call"; name: string; arguments: string };

interface StoredItem {
  item: ConversationItem & { id: string };
  /** Assistant audio sent for this item so far: the bound for truncation. */
  audioMs: number;
  /** What a user's audio "said": the placeholder transcript, even when transcription is off. */
  spokenText?: string;
}

interface ActiveResponse {
  id: string;
  base: RealtimeResponse;
  modality: "audio" | "text";
  inConversation: boolean;
  stored: StoredItem;
  words: string[];
  emittedWords: number;
  durationMs: number;
  audioMs: number;
  audioPlaying: boolean;
  inputUsage: { text: number; audio: number };
}

interface MicTurn {
  itemId: string;
  startMs: number;
  voicedEndMs: number;
  silentMs: number;
}

/** Events are snapshots: items keep changing after an event about them was queued. */
const send = (event: RealtimeServerEvent): Effect => ({
  kind: "send",
  event: structuredClone(event),
});

/** Text length to tokens: synthetic (about four characters a token), stable across runs. */
const textTokens = (text: string) => Math.ceil(text.length / 4);

/**
 * One call's conversation. Feed it data-channel messages (`receive`/`handle`), mic packets
 * (`micPacket`) and outgoing-audio progress (`audioProgress`/`audioFinished`); each returns
 * the effects to carry out, in order.
 */
export class Conversation {
  private session: Session;
  private readonly newId: NewId;
  private readonly responseAudioMs: number;
  private readonly items: StoredItem[] = [];
  private active: ActiveResponse | undefined;
  private lastResponseId: string | undefined;
  /** Upstream locks the voice once the assistant has spoken. */
  private audioProduced = false;
  private micPositionMs = 0;
  private inputBufferMs = 0;
  private turn: MicTurn | undefined;
  private readonly conversationId: string;

  constructor(options: ConversationOptions) {
    this.session = options.session;
    this.newId = options.newId;
    this.responseAudioMs = options.responseAudioMs;
    this.conversationId = options.newId("conv");
  }

  /** The session as it stands after any `session.update`s. */
  get currentSession(): Session {
    return this.session;
  }

  /** True while a response is being produced (and cancellable). */
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
        const stored = this.find(event.item_id);
        if (!stored) return [this.itemNotFound("retrieve", event.item_id, clientEventId)];
        return [
          send({
            type: "conversation.item.retrieved",
            event_id: this.eventId(),
            item: stored.item,
          }),
        ];
      }
      case "conversation.item.delete": {
        const index = this.items.findIndex((s) => s.item.id === event.item_id);
        if (index < 0) return [this.itemNotFound("delete", event.item_id, clientEventId)];
        this.items.splice(index, 1);
        return [
          send({
            type: "conversation.item.deleted",
            event_id: this.eventId(),
            item_id: event.item_id,
          } satisfies ConversationItemDeletedEvent),
        ];
      }
      case "conversation.item.truncate":
        return this.truncate(event.item_id, event.content_index, event.audio_end_ms, clientEventId);
      case "input_audio_buffer.append":
        // Base64 of 16-bit PCM at 24 kHz: 48 bytes per millisecond.
        this.inputBufferMs += Math.floor((event.audio.length * 3) / 4 / 48);
        return [];
      case "input_audio_buffer.commit":
        return this.commitBuffer(clientEventId);
      case "input_audio_buffer.clear":
        this.inputBufferMs = 0;
        this.turn = undefined;
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

  private find(id: string): StoredItem | undefined {
    return this.items.find((s) => s.item.id === id);
  }

  private lastItemId(): string | null {
    return this.items.at(-1)?.item.id ?? null;
  }

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
    if (requestedId !== undefined && this.find(requestedId))
      return [
        this.error({
          type: "invalid_request_error",
          code: "invalid_value",
          message: `Item with id '${requestedId}' already exists.`,
          param: "item.id",
          event_id: clientEventId,
        }),
      ];
    let index = this.items.length;
    if (previousItemId !== undefined) {
      index =
        previousItemId === "root"
          ? 0
          : this.items.findIndex((s) => s.item.id === previousItemId) + 1;
      if (index === 0 && previousItemId !== "root")
        return [
          this.error({
            type: "invalid_request_error",
            code: "invalid_value",
            message: `The previous_item_id '${previousItemId}' does not exist.`,
            param: "previous_item_id",
            event_id: clientEventId,
          }),
        ];
    }
    const stored: StoredItem = {
      item: {
        ...item,
        id: requestedId ?? this.newId("item"),
        object: "realtime.item",
        status: "completed",
      } as StoredItem["item"],
      audioMs: 0,
    };
    const previous = index === 0 ? null : (this.items[index - 1]?.item.id ?? null);
    this.items.splice(index, 0, stored);
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
    const stored = this.find(itemId);
    if (!stored) return [this.itemNotFound("truncate", itemId, clientEventId)];
    const item = stored.item;
    const hasAudio =
      item.type === "message" &&
      item.role === "assistant" &&
      item.content.some((part) => part.type === "output_audio");
    const refuse = (message: string, param: string) =>
      this.error({
        type: "invalid_request_error",
        code: "invalid_value",
        message,
        param,
        event_id: clientEventId,
      });
    if (!hasAudio && !(this.active?.stored === stored && this.active.modality === "audio"))
      return [refuse("Only assistant messages with audio can be truncated.", "item_id")];
    if (contentIndex !== 0)
      return [refuse(`The item has no content at index ${contentIndex}.`, "content_index")];
    if (audioEndMs > stored.audioMs)
      return [
        refuse(
          `Audio content of ${stored.audioMs}ms is already shorter than ${audioEndMs}ms`,
          "audio_end_ms",
        ),
      ];
    stored.audioMs = audioEndMs;
    // Upstream drops the text transcript of a truncated item so the model does not "remember" unheard words.
    if (item.type === "message" && item.role === "assistant")
      item.content = item.content.map((part) =>
        part.type === "output_audio" ? { ...part, transcript: "" } : part,
      );
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
   * One received mic RTP packet. With turn detection on, voiced packets open a user turn and
   * `silence_duration_ms` of quiet packets close it (see SCRIPT for what counts as voiced).
   */
  micPacket(payloadBytes: number): Effect[] {
    this.micPositionMs += SCRIPT.micPacketMs;
    this.inputBufferMs += SCRIPT.micPacketMs;
    const detection = this.session.audio?.input?.turn_detection;
    if (!detection) return [];
    const voiced = payloadBytes >= SCRIPT.voicedMinBytes;
    const out: Effect[] = [];
    if (!this.turn) {
      if (!voiced) {
        this.inputBufferMs = 0;
        return [];
      }
      const startMs = this.micPositionMs - SCRIPT.micPacketMs;
      const padding = detection.type === "server_vad" ? (detection.prefix_padding_ms ?? 300) : 0;
      this.turn = {
        itemId: this.newId("item"),
        startMs,
        voicedEndMs: this.micPositionMs,
        silentMs: 0,
      };
      this.inputBufferMs = SCRIPT.micPacketMs;
      out.push(
        send({
          type: "input_audio_buffer.speech_started",
          event_id: this.eventId(),
          audio_start_ms: Math.max(0, startMs - padding),
          item_id: this.turn.itemId,
        } satisfies InputAudioBufferSpeechStartedEvent),
      );
      if (this.active && detection.interrupt_response !== false)
        out.push(...this.cancel("turn_detected"));
      return out;
    }
    if (voiced) {
      this.turn.voicedEndMs = this.micPositionMs;
      this.turn.silentMs = 0;
      return [];
    }
    this.turn.silentMs += SCRIPT.micPacketMs;
    const silenceMs =
      detection.type === "server_vad"
        ? (detection.silence_duration_ms ?? 500)
        : SCRIPT.semanticSilenceMs;
    if (this.turn.silentMs < silenceMs) return [];
    const turn = this.turn;
    this.turn = undefined;
    this.inputBufferMs = 0;
    out.push(
      send({
        type: "input_audio_buffer.speech_stopped",
        event_id: this.eventId(),
        audio_end_ms: turn.voicedEndMs,
        item_id: turn.itemId,
      } satisfies InputAudioBufferSpeechStoppedEvent),
      ...this.commitUserAudio(turn.itemId, turn.voicedEndMs - turn.startMs, "speech"),
    );
    if (detection.create_response !== false && !this.active) out.push(...this.startResponse({}));
    return out;
  }

  private commitBuffer(clientEventId: string | null): Effect[] {
    const ms = this.inputBufferMs;
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
    const itemId = this.turn?.itemId ?? this.newId("item");
    this.turn = undefined;
    this.inputBufferMs = 0;
    return this.commitUserAudio(itemId, ms, "audio");
  }

  private commitUserAudio(itemId: string, ms: number, what: "speech" | "audio"): Effect[] {
    const previous = this.lastItemId();
    const spokenText = `Placeholder transcript: ${ms} ms of ${what}.`;
    const item: RealtimeConversationItemUserMessage & { id: string } = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      role: "user",
      status: "completed",
      content: [{ type: "input_audio" }],
    };
    const stored: StoredItem = { item, audioMs: 0, spokenText };
    this.items.push(stored);
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
    const context: StoredItem[] = params.input
      ? params.input.map(
          (item) =>
            this.find(("id" in item && item.id) || "") ?? {
              item: item as StoredItem["item"],
              audioMs: 0,
            },
        )
      : this.items;
    const plan = this.plan(context, params);
    const id = this.newId("resp");
    this.lastResponseId = id;
    const base: RealtimeResponse = {
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
    const inputUsage = this.inputUsage(context);
    const out: Effect[] = [
      send({
        type: "response.created",
        event_id: this.eventId(),
        response: base,
      } satisfies ResponseCreatedEvent),
    ];
    const previous = this.lastItemId();
    if (plan.kind === "function_call") {
      out.push(...this.functionCall(base, plan, inConversation, previous, inputUsage));
      return out;
    }
    const itemId = this.newId("item");
    const item: RealtimeConversationItemAssistantMessage & { id: string } = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      role: "assistant",
      status: "in_progress",
      content: [],
    };
    const stored: StoredItem = { item, audioMs: 0 };
    if (inConversation) this.items.push(stored);
    const where = { response_id: id, item_id: itemId, output_index: 0, content_index: 0 };
    out.push(...this.outputItemAdded(id, item, previous, inConversation));
    out.push(
      send({
        type: "response.content_part.added",
        event_id: this.eventId(),
        ...where,
        part: modality === "audio" ? { type: "audio", transcript: "" } : { type: "text", text: "" },
      } satisfies ResponseContentPartAddedEvent),
    );
    const words = plan.text.split(/(?<= )/);
    this.active = {
      id,
      base,
      modality,
      inConversation,
      stored,
      words,
      emittedWords: 0,
      durationMs: this.responseAudioMs,
      audioMs: 0,
      audioPlaying: false,
      inputUsage,
    };
    if (modality === "text") {
      // A text answer has nothing to pace: it streams out at once, like a fast model.
      out.push(...this.emitWords(words.length), ...this.finish("completed"));
      return out;
    }
    this.audioProduced = true;
    this.active.audioPlaying = true;
    out.push(
      send({ type: "output_audio_buffer.started", event_id: this.eventId(), response_id: id }),
      { kind: "audio.start", responseId: id, durationMs: this.responseAudioMs },
    );
    return out;
  }

  /**
   * Progress of the outgoing audio for a response: transcript deltas are released in step
   * with the audio, so what a client shows matches what has been heard.
   */
  audioProgress(responseId: string, sentMs: number): Effect[] {
    const active = this.active;
    if (!active || active.id !== responseId) return [];
    active.audioMs = sentMs;
    active.stored.audioMs = sentMs;
    const due = Math.min(
      active.words.length,
      Math.ceil((active.words.length * sentMs) / active.durationMs),
    );
    return this.emitWords(due);
  }

  /** The outgoing audio for a response played to its end. */
  audioFinished(responseId: string): Effect[] {
    const active = this.active;
    if (!active || active.id !== responseId) return [];
    active.audioPlaying = false;
    return [
      ...this.emitWords(active.words.length),
      ...this.finish("completed"),
      send({
        type: "output_audio_buffer.stopped",
        event_id: this.eventId(),
        response_id: responseId,
      }),
    ];
  }

  private emitWords(upTo: number): Effect[] {
    const active = this.active;
    if (!active) return [];
    const out: Effect[] = [];
    const where = {
      response_id: active.id,
      item_id: active.stored.item.id,
      output_index: 0,
      content_index: 0,
    };
    while (active.emittedWords < upTo) {
      const delta = active.words[active.emittedWords++] ?? "";
      out.push(
        active.modality === "audio"
          ? send({
              type: "response.output_audio_transcript.delta",
              event_id: this.eventId(),
              ...where,
              delta,
            } satisfies ResponseAudioTranscriptDeltaEvent)
          : send({
              type: "response.output_text.delta",
              event_id: this.eventId(),
              ...where,
              delta,
            } satisfies ResponseTextDeltaEvent),
      );
    }
    return out;
  }

  /** Closes the active message response; `cancelled` keeps only what was already said. */
  private finish(
    status: "completed" | "cancelled",
    reason?: "client_cancelled" | "turn_detected",
  ): Effect[] {
    const active = this.active;
    if (!active) return [];
    this.active = undefined;
    const text = active.words.slice(0, active.emittedWords).join("");
    const where = {
      response_id: active.id,
      item_id: active.stored.item.id,
      output_index: 0,
      content_index: 0,
    };
    const audio = active.modality === "audio";
    const out: Effect[] = [
      audio
        ? send({
            type: "response.output_audio_transcript.done",
            event_id: this.eventId(),
            ...where,
            transcript: text,
          } satisfies ResponseAudioTranscriptDoneEvent)
        : send({
            type: "response.output_text.done",
            event_id: this.eventId(),
            ...where,
            text,
          } satisfies ResponseTextDoneEvent),
      send({
        type: "response.content_part.done",
        event_id: this.eventId(),
        ...where,
        part: audio ? { type: "audio", transcript: text } : { type: "text", text },
      } satisfies ResponseContentPartDoneEvent),
    ];
    const item = active.stored.item as RealtimeConversationItemAssistantMessage & { id: string };
    item.status = status === "completed" ? "completed" : "incomplete";
    item.content = [
      audio ? { type: "output_audio", transcript: text } : { type: "output_text", text },
    ];
    out.push(
      send({
        type: "response.output_item.done",
        event_id: this.eventId(),
        response_id: active.id,
        output_index: 0,
        item,
      } satisfies ResponseOutputItemDoneEvent),
    );
    if (active.inConversation)
      out.push(
        send({
          type: "conversation.item.done",
          event_id: this.eventId(),
          previous_item_id: this.previousOf(item.id),
          item,
        } satisfies ConversationItemDone),
      );
    out.push(
      send({
        type: "response.done",
        event_id: this.eventId(),
        response: {
          ...active.base,
          status,
          ...(reason
            ? { status_details: { type: "cancelled", reason } }
            : { status_details: { type: "completed" } }),
          output: [item],
          usage: this.usage(active.inputUsage, text, audio ? active.audioMs : 0),
        },
      } satisfies ResponseDoneEvent),
    );
    return out;
  }

  private cancel(reason: "client_cancelled" | "turn_detected"): Effect[] {
    const active = this.active;
    if (!active) return [];
    const out: Effect[] = [];
    const wasPlaying = active.audioPlaying;
    if (wasPlaying) out.push({ kind: "audio.stop", responseId: active.id });
    active.audioPlaying = false;
    out.push(...this.finish("cancelled", reason));
    if (wasPlaying)
      out.push(
        // Server VAD clears the WebRTC output buffer itself; a client cancel only ends generation,
        // and the stand-in has nothing buffered beyond what it played, so the buffer stops.
        reason === "turn_detected"
          ? send({
              type: "output_audio_buffer.cleared",
              event_id: this.eventId(),
              response_id: active.id,
            })
          : send({
              type: "output_audio_buffer.stopped",
              event_id: this.eventId(),
              response_id: active.id,
            }),
      );
    return out;
  }

  /**
   * `output_audio_buffer.clear`: cuts the audio. Generation is not cancelled (that is what
   * `response.cancel` is for), so a response still in flight completes at once with its full
   * transcript while its audio stays as long as what was played.
   */
  private clearOutputAudio(): Effect[] {
    const active = this.active;
    if (!active?.audioPlaying)
      return [
        send({
          type: "output_audio_buffer.cleared",
          event_id: this.eventId(),
          response_id: this.lastResponseId ?? "",
        }),
      ];
    active.audioPlaying = false;
    return [
      { kind: "audio.stop", responseId: active.id },
      send({
        type: "output_audio_buffer.cleared",
        event_id: this.eventId(),
        response_id: active.id,
      }),
      ...this.emitWords(active.words.length),
      ...this.finish("completed"),
    ];
  }

  /**
   * A response's new output item: `response.output_item.added`, and `conversation.item.added`
   * when the response writes to the default conversation. Copies, because the item changes
   * as the response goes on.
   */
  private outputItemAdded(
    responseId: string,
    item: ConversationItem,
    previous: string | null,
    inConversation: boolean,
  ): Effect[] {
    const added: Effect[] = [
      send({
        type: "response.output_item.added",
        event_id: this.eventId(),
        response_id: responseId,
        output_index: 0,
        item: { ...item },
      } satisfies ResponseOutputItemAddedEvent),
    ];
    if (inConversation)
      added.push(
        send({
          type: "conversation.item.added",
          event_id: this.eventId(),
          previous_item_id: previous,
          item: { ...item },
        } satisfies ConversationItemAdded),
      );
    return added;
  }

  private functionCall(
    base: RealtimeResponse,
    plan: Extract<Plan, { kind: "function_call" }>,
    inConversation: boolean,
    previous: string | null,
    inputUsage: { text: number; audio: number },
  ): Effect[] {
    const itemId = this.newId("item");
    const callId = this.newId("call");
    const where = { response_id: base.id ?? "", item_id: itemId, output_index: 0, call_id: callId };
    const item: RealtimeConversationItemFunctionCall & { id: string } = {
      id: itemId,
      object: "realtime.item",
      type: "function_call",
      status: "in_progress",
      name: plan.name,
      call_id: callId,
      arguments: "",
    };
    const out = this.outputItemAdded(where.response_id, item, previous, inConversation);
    for (let at = 0; at < plan.arguments.length; at += 16)
      out.push(
        send({
          type: "response.function_call_arguments.delta",
          event_id: this.eventId(),
          ...where,
          delta: plan.arguments.slice(at, at + 16),
        } satisfies ResponseFunctionCallArgumentsDeltaEvent),
      );
    out.push(
      send({
        type: "response.function_call_arguments.done",
        event_id: this.eventId(),
        ...where,
        name: plan.name,
        arguments: plan.arguments,
      } satisfies ResponseFunctionCallArgumentsDoneEvent),
    );
    item.status = "completed";
    item.arguments = plan.arguments;
    if (inConversation) {
      this.items.push({ item, audioMs: 0 });
      out.push(
        send({
          type: "conversation.item.done",
          event_id: this.eventId(),
          previous_item_id: previous,
          item,
        } satisfies ConversationItemDone),
      );
    }
    out.push(
      send({
        type: "response.output_item.done",
        event_id: this.eventId(),
        response_id: where.response_id,
        output_index: 0,
        item,
      } satisfies ResponseOutputItemDoneEvent),
      send({
        type: "response.done",
        event_id: this.eventId(),
        response: {
          ...base,
          status: "completed",
          status_details: { type: "completed" },
          output: [item],
          usage: this.usage(inputUsage, plan.arguments, 0),
        },
      } satisfies ResponseDoneEvent),
    );
    return out;
  }

  // --- the script ------------------------------------------------------------------------

  /**
   * Decides the answer from the latest relevant item in the context:
   * - a tool output → `The <name> tool returned: <output>`;
   * - a user message that mentions a declared function tool (or a forced tool choice) → a
   *   call of that tool;
   * - any other user message → `You said: "<text>"`;
   * - nothing yet → a fixed greeting.
   */
  private plan(context: StoredItem[], params: RealtimeResponseCreateParams): Plan {
    const last = context.findLast(
      (s) =>
        s.item.type === "function_call" ||
        s.item.type === "function_call_output" ||
        (s.item.type === "message" && s.item.role === "user"),
    );
    if (!last)
      return { kind: "message", text: "Hello! This is the local OpenAI Realtime stand-in." };
    const item = last.item;
    if (item.type === "function_call_output") {
      const call = context.find(
        (s) => s.item.type === "function_call" && s.item.call_id === item.call_id,
      );
      const name = call?.item.type === "function_call" ? call.item.name : "function";
      return { kind: "message", text: `The ${name} tool returned: ${item.output}` };
    }
    if (item.type === "function_call")
      return { kind: "message", text: `Waiting for the output of ${item.name}.` };
    const text = userText(last);
    const tool = this.chooseTool(text, params);
    if (tool?.name)
      return {
        kind: "function_call",
        name: tool.name,
        arguments: JSON.stringify(fillArguments(tool, text)),
      };
    return { kind: "message", text: `You said: "${text}"` };
  }

  private chooseTool(
    text: string,
    params: RealtimeResponseCreateParams,
  ): RealtimeFunctionTool | undefined {
    const declared = params.tools
      ? params.tools.filter((t): t is RealtimeFunctionTool => t.type !== "mcp")
      : functionTools(this.session);
    const choice = params.tool_choice ?? this.session.tool_choice ?? "auto";
    if (declared.length === 0 || choice === "none") return undefined;
    if (typeof choice === "object")
      return choice.type === "function" ? declared.find((t) => t.name === choice.name) : undefined;
    const mentioned = declared.find((t) => t.name !== undefined && mentions(text, t.name));
    return mentioned ?? (choice === "required" ? declared[0] : undefined);
  }

  private inputUsage(context: StoredItem[]): { text: number; audio: number } {
    let text = textTokens(this.session.instructions ?? "");
    let audio = 0;
    for (const s of context) {
      if (s.spokenText !== undefined) audio += Math.ceil(s.spokenText.length / 2);
      else text += textTokens(JSON.stringify(s.item));
    }
    return { text, audio };
  }

  private usage(
    input: { text: number; audio: number },
    outputText: string,
    audioMs: number,
  ): RealtimeResponseUsage {
    const outText = textTokens(outputText);
    // Synthetic: about 20 audio tokens a second, near upstream's order of magnitude.
    const outAudio = Math.ceil(audioMs / 50);
    const inputTokens = input.text + input.audio;
    return {
      total_tokens: inputTokens + outText + outAudio,
      input_tokens: inputTokens,
      output_tokens: outText + outAudio,
      input_token_details: {
        text_tokens: input.text,
        audio_tokens: input.audio,
        image_tokens: 0,
        cached_tokens: 0,
        cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
      },
      output_token_details: { text_tokens: outText, audio_tokens: outAudio },
    };
  }

  private previousOf(id: string): string | null {
    const index = this.items.findIndex((s) => s.item.id === id);
    return index > 0 ? (this.items[index - 1]?.item.id ?? null) : null;
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

function userText(stored: StoredItem): string {
  if (stored.spokenText !== undefined) return stored.spokenText;
  const item = stored.item;
  if (item.type !== "message") return "";
  return item.content
    .map((part) => ("text" in part && part.text) || ("transcript" in part && part.transcript) || "")
    .filter(Boolean)
    .join(" ");
}

/** A tool is mentioned when its name appears, case-insensitively, with `_`/`-` read as spaces or not. */
export function mentions(text: string, toolName: string): boolean {
  const haystack = text.toLowerCase();
  const name = toolName.toLowerCase();
  return haystack.includes(name) || haystack.includes(name.replace(/[_-]+/g, " "));
}

/**
 * Deterministic arguments from the tool's JSON schema: string properties get the user's
 * words (or the first enum value), numbers 0, booleans true; anything else is left out.
 */
export function fillArguments(tool: RealtimeFunctionTool, text: string): Record<string, unknown> {
  const schema = tool.parameters as
    { properties?: Record<string, { type?: unknown; enum?: unknown[] }> } | undefined;
  const args: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    if (Array.isArray(property.enum) && property.enum.length > 0) args[name] = property.enum[0];
    else if (property.type === "string") args[name] = text;
    else if (property.type === "number" || property.type === "integer") args[name] = 0;
    else if (property.type === "boolean") args[name] = true;
  }
  return args;
}

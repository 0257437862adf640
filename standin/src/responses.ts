/**
 * The server events of one response, from its first output item to `response.done`: a
 * function call goes out at once; a message streams word by word, in step with its audio
 * when it has audio, and can be cancelled or have its audio cleared on the way.
 */
import type {
  ConversationItem,
  ConversationItemAdded,
  ConversationItemDone,
  RealtimeConversationItemAssistantMessage,
  RealtimeConversationItemFunctionCall,
  RealtimeResponse,
  RealtimeResponseUsage,
  RealtimeServerEvent,
  ResponseAudioTranscriptDeltaEvent,
  ResponseAudioTranscriptDoneEvent,
  ResponseContentPartAddedEvent,
  ResponseContentPartDoneEvent,
  ResponseDoneEvent,
  ResponseFunctionCallArgumentsDeltaEvent,
  ResponseFunctionCallArgumentsDoneEvent,
  ResponseOutputItemAddedEvent,
  ResponseOutputItemDoneEvent,
  ResponseTextDeltaEvent,
  ResponseTextDoneEvent,
} from "openai/resources/realtime/realtime";
import { send, type Effect } from "./effects.js";
import type { NewId } from "./ids.js";
import type { ItemStore, StoredItem } from "./items.js";

/** Input tokens a response is charged for, by kind. */
export interface InputUsage {
  text: number;
  audio: number;
}

/** What the conversation settles before a response's output starts. */
export interface ResponseSetup {
  /** The response as `response.created` announced it. */
  base: RealtimeResponse & { id: string };
  /** The conversation the output joins; `undefined` for out-of-band responses (`conversation: "none"`). */
  conversation: ItemStore | undefined;
  /** The conversation's last item when the response started. */
  previousItemId: string | null;
  inputUsage: InputUsage;
  newId: NewId;
}

/** Function-call arguments stream in chunks of this many characters. */
const ARGUMENTS_CHUNK = 16;

/**
 * How far a spoken answer's generation runs ahead of its playback. Upstream generates audio
 * faster than real time into the WebRTC output buffer, which plays it in real time: an item's
 * audio (what truncation is checked against, and what usage counts) is longer than what has
 * been sent, and `response.done` comes before `output_audio_buffer.stopped`. The stand-in models
 * it as a head start plus a speed: after `sent` ms went out, `headStartMs + speed × sent` ms
 * (at most the whole answer) have been generated.
 */
export const GENERATION = { headStartMs: 200, speed: 2 } as const;

/** Milliseconds of an answer generated once `sentMs` of its audio went out. */
export function generatedMs(sentMs: number, durationMs: number): number {
  return Math.min(durationMs, GENERATION.headStartMs + sentMs * GENERATION.speed);
}

/**
 * A function call, all at once: the item, its arguments as deltas, then `response.done`.
 * Upstream leaves the call to the client, so there is nothing to pace or cancel.
 */
export function functionCallResponse(
  setup: ResponseSetup,
  call: { name: string; arguments: string },
): Effect[] {
  const { base, conversation, previousItemId: previous, newId } = setup;
  const eventId = () => newId("event");
  const itemId = newId("item");
  const callId = newId("call");
  const where = { response_id: base.id, item_id: itemId, output_index: 0, call_id: callId };
  const item: RealtimeConversationItemFunctionCall & { id: string } = {
    id: itemId,
    object: "realtime.item",
    type: "function_call",
    status: "in_progress",
    name: call.name,
    call_id: callId,
    arguments: "",
  };
  const out = outputItemAdded(setup, item);
  for (let at = 0; at < call.arguments.length; at += ARGUMENTS_CHUNK)
    out.push(
      send({
        type: "response.function_call_arguments.delta",
        event_id: eventId(),
        ...where,
        delta: call.arguments.slice(at, at + ARGUMENTS_CHUNK),
      } satisfies ResponseFunctionCallArgumentsDeltaEvent),
    );
  out.push(
    send({
      type: "response.function_call_arguments.done",
      event_id: eventId(),
      ...where,
      name: call.name,
      arguments: call.arguments,
    } satisfies ResponseFunctionCallArgumentsDoneEvent),
  );
  item.status = "completed";
  item.arguments = call.arguments;
  if (conversation) {
    conversation.append({ item, audioMs: 0 });
    out.push(
      send({
        type: "conversation.item.done",
        event_id: eventId(),
        previous_item_id: previous,
        item,
      } satisfies ConversationItemDone),
    );
  }
  out.push(
    send({
      type: "response.output_item.done",
      event_id: eventId(),
      response_id: base.id,
      output_index: 0,
      item,
    } satisfies ResponseOutputItemDoneEvent),
    send({
      type: "response.done",
      event_id: eventId(),
      response: {
        ...base,
        status: "completed",
        status_details: { type: "completed" },
        output: [item],
        usage: usage(setup.inputUsage, call.arguments, 0),
      },
    } satisfies ResponseDoneEvent),
  );
  return out;
}

/**
 * An assistant message. Its words are released as transcript (or text) deltas: with audio,
 * in step with the audio generated ({@link GENERATION}, ahead of what was sent), as upstream
 * streams its transcript ahead of playback; as text, all at once, like a fast model.
 */
export class MessageResponse {
  /** The answer in words, each with its trailing space, so deltas join back to the text. */
  private readonly words: string[];
  private emittedWords = 0;
  private readonly item: RealtimeConversationItemAssistantMessage & { id: string };
  /** Audio generated so far, for usage; the item's own `audioMs` may be cut by truncation. */
  private audioMs = 0;
  /** Set once `response.done` went out; the audio may still be playing. */
  private finished = false;
  readonly stored: StoredItem;

  constructor(
    private readonly setup: ResponseSetup,
    text: string,
    private readonly modality: "audio" | "text",
    /** Length of the spoken answer. */
    private readonly durationMs: number,
  ) {
    this.words = text.split(/(?<= )/);
    this.item = {
      id: setup.newId("item"),
      object: "realtime.item",
      type: "message",
      role: "assistant",
      status: "in_progress",
      content: [],
    };
    this.stored = { item: this.item, audioMs: 0 };
  }

  get id(): string {
    return this.setup.base.id;
  }

  /** Still generating: `response.cancel` applies and no other response may start. */
  get generating(): boolean {
    return !this.finished;
  }

  /**
   * The output item and its content part; then, for text, the whole answer; for audio, the
   * start of playback (the answer follows {@link progress}).
   */
  begin(): Effect[] {
    this.setup.conversation?.append(this.stored);
    const out = outputItemAdded(this.setup, this.item);
    out.push(
      send({
        type: "response.content_part.added",
        event_id: this.eventId(),
        ...this.where(),
        part:
          this.modality === "audio"
            ? { type: "audio", transcript: "" }
            : { type: "text", text: "" },
      } satisfies ResponseContentPartAddedEvent),
    );
    if (this.modality === "text") return [...out, ...this.complete()];
    out.push(
      send({
        type: "output_audio_buffer.started",
        event_id: this.eventId(),
        response_id: this.id,
      } satisfies RealtimeServerEvent.OutputAudioBufferStarted),
      { kind: "audio.start", responseId: this.id, durationMs: this.durationMs },
    );
    this.generated(generatedMs(0, this.durationMs));
    return out;
  }

  /**
   * `sentMs` of the audio has gone out: the words generated by then, and the end of the
   * response once all of it is generated (the audio plays on).
   */
  progress(sentMs: number): Effect[] {
    if (this.finished) return [];
    const ms = generatedMs(sentMs, this.durationMs);
    this.generated(ms);
    if (ms >= this.durationMs) return this.complete();
    return this.emitWords(Math.ceil((this.words.length * ms) / this.durationMs));
  }

  private generated(ms: number): void {
    this.audioMs = ms;
    if (!this.stored.truncated) this.stored.audioMs = ms;
  }

  // Only an audio answer outlives begin(), and its audio plays until one of the three
  // methods below ends it: they may assume the audio is playing.

  /** The audio played to its end. */
  playedOut(): Effect[] {
    return [
      ...(this.finished ? [] : this.complete()),
      send({
        type: "output_audio_buffer.stopped",
        event_id: this.eventId(),
        response_id: this.id,
      } satisfies RealtimeServerEvent.OutputAudioBufferStopped),
    ];
  }

  /**
   * Stops the audio and ends the response with only the words generated so far (while it is
   * generating: the conversation only cancels then).
   */
  cancel(reason: "client_cancelled" | "turn_detected"): Effect[] {
    return [
      { kind: "audio.stop", responseId: this.id },
      ...this.finish("cancelled", reason),
      // Server VAD clears the WebRTC output buffer itself. A client cancel only ends generation;
      // upstream would play what was buffered, the stand-in stops there (a client clears anyway).
      reason === "turn_detected"
        ? send({
            type: "output_audio_buffer.cleared",
            event_id: this.eventId(),
            response_id: this.id,
          } satisfies RealtimeServerEvent.OutputAudioBufferCleared)
        : send({
            type: "output_audio_buffer.stopped",
            event_id: this.eventId(),
            response_id: this.id,
          } satisfies RealtimeServerEvent.OutputAudioBufferStopped),
    ];
  }

  /**
   * `output_audio_buffer.clear`: cuts the audio. Generation is not cancelled (that is what
   * `response.cancel` is for), so a response still generating completes at once with its full
   * transcript, while its item's audio stays as long as what was generated.
   */
  clearAudio(): Effect[] {
    return [
      { kind: "audio.stop", responseId: this.id },
      send({
        type: "output_audio_buffer.cleared",
        event_id: this.eventId(),
        response_id: this.id,
      } satisfies RealtimeServerEvent.OutputAudioBufferCleared),
      ...(this.finished ? [] : this.complete()),
    ];
  }

  /** Another response's audio replaces this one's in the output buffer. */
  replaced(): Effect[] {
    return [
      send({
        type: "output_audio_buffer.stopped",
        event_id: this.eventId(),
        response_id: this.id,
      } satisfies RealtimeServerEvent.OutputAudioBufferStopped),
    ];
  }

  /** Every word not yet released, then the end of the response. */
  private complete(): Effect[] {
    return [...this.emitWords(this.words.length), ...this.finish("completed")];
  }

  private emitWords(upTo: number): Effect[] {
    const out: Effect[] = [];
    const where = this.where();
    while (this.emittedWords < upTo) {
      const delta = this.words[this.emittedWords++] ?? "";
      out.push(
        this.modality === "audio"
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

  /** Closes the response; `cancelled` keeps only what was already said. */
  private finish(
    status: "completed" | "cancelled",
    reason?: "client_cancelled" | "turn_detected",
  ): Effect[] {
    this.finished = true;
    const text = this.words.slice(0, this.emittedWords).join("");
    const where = this.where();
    const audio = this.modality === "audio";
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
    const item = this.item;
    item.status = status === "completed" ? "completed" : "incomplete";
    item.content = [
      audio ? { type: "output_audio", transcript: text } : { type: "output_text", text },
    ];
    out.push(
      send({
        type: "response.output_item.done",
        event_id: this.eventId(),
        response_id: this.id,
        output_index: 0,
        item,
      } satisfies ResponseOutputItemDoneEvent),
    );
    const conversation = this.setup.conversation;
    if (conversation)
      out.push(
        send({
          type: "conversation.item.done",
          event_id: this.eventId(),
          // Asked now, not at the start: items may have been added or deleted meanwhile.
          previous_item_id: conversation.previousOf(item.id),
          item,
        } satisfies ConversationItemDone),
      );
    out.push(
      send({
        type: "response.done",
        event_id: this.eventId(),
        response: {
          ...this.setup.base,
          status,
          ...(reason
            ? { status_details: { type: "cancelled", reason } }
            : { status_details: { type: "completed" } }),
          output: [item],
          usage: usage(this.setup.inputUsage, text, audio ? this.audioMs : 0),
        },
      } satisfies ResponseDoneEvent),
    );
    return out;
  }

  private where() {
    return { response_id: this.id, item_id: this.item.id, output_index: 0, content_index: 0 };
  }

  private eventId(): string {
    return this.setup.newId("event");
  }
}

/**
 * A response's new output item: `response.output_item.added`, and `conversation.item.added`
 * when the response writes to the default conversation. Copies, because the item changes
 * as the response goes on.
 */
function outputItemAdded(setup: ResponseSetup, item: ConversationItem): Effect[] {
  const added: Effect[] = [
    send({
      type: "response.output_item.added",
      event_id: setup.newId("event"),
      response_id: setup.base.id,
      output_index: 0,
      item: { ...item },
    } satisfies ResponseOutputItemAddedEvent),
  ];
  if (setup.conversation)
    added.push(
      send({
        type: "conversation.item.added",
        event_id: setup.newId("event"),
        previous_item_id: setup.previousItemId,
        item: { ...item },
      } satisfies ConversationItemAdded),
    );
  return added;
}

/** Text length to tokens: synthetic (about four characters a token), stable across runs. */
const textTokens = (text: string) => Math.ceil(text.length / 4);

/** What reading `context` (after the session's instructions) costs a response. */
export function inputUsage(context: readonly StoredItem[], instructions: string): InputUsage {
  let text = textTokens(instructions);
  let audio = 0;
  for (const s of context) {
    if (s.spokenText !== undefined) audio += Math.ceil(s.spokenText.length / 2);
    else text += textTokens(JSON.stringify(s.item));
  }
  return { text, audio };
}

function usage(input: InputUsage, outputText: string, audioMs: number): RealtimeResponseUsage {
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

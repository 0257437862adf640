/**
 * Which response is being generated and which one's audio is playing: starting responses,
 * routing the outgoing audio's progress to them, and ending them by cancel, by the user's
 * speech or by `output_audio_buffer.clear`. A response's own events are `responses.ts`'s.
 */
import type {
  RealtimeResponse,
  RealtimeResponseCreateParams,
  RealtimeServerEvent,
  ResponseCreatedEvent,
} from "openai/resources/realtime/realtime";
import { invalidRequest, send, sendError, type Effect } from "./effects.js";
import type { NewId } from "./ids.js";
import type { ItemStore, StoredItem } from "./items.js";
import {
  functionCallResponse,
  inputUsage,
  MessageResponse,
  type ResponseSetup,
} from "./responses.js";
import { planAnswer } from "./script.js";
import { outputModality, type Session } from "./session.js";

export interface ResponderOptions {
  newId: NewId;
  /** The conversation's id, which in-conversation responses name. */
  conversationId: string;
  /** The default conversation: a response's context and where its output goes. */
  items: ItemStore;
  /** Length of each scripted spoken answer. */
  responseAudioMs: number;
}

/** One call's responses. */
export class Responder {
  /**
   * The spoken answer being generated; text answers and function calls complete at once, so
   * they are never active.
   */
  private active: MessageResponse | undefined;
  /** The spoken answer whose audio is playing: the active one, or one done generating. */
  private playing: MessageResponse | undefined;
  private lastResponseId: string | undefined;
  private spoken = false;

  constructor(private readonly options: ResponderOptions) {}

  /** True while a response is being generated (and cancellable). */
  get responding(): boolean {
    return this.active !== undefined;
  }

  /** Whether the assistant has spoken: upstream then locks the voice. */
  get hasSpoken(): boolean {
    return this.spoken;
  }

  /** The item whose audio is being sent, if any (it can be truncated before it is done). */
  get streamingItem(): StoredItem | undefined {
    return this.playing?.stored;
  }

  /** `response.create`: refused while another response is being generated. */
  create(
    params: RealtimeResponseCreateParams,
    session: Session,
    clientEventId: string | null,
  ): Effect[] {
    if (this.active)
      return [
        sendError(
          this.options.newId,
          invalidRequest(
            "conversation_already_has_active_response",
            `Conversation already has an active response in progress: ${this.active.id}. Wait until the response is finished before creating a new one.`,
            null,
            clientEventId,
          ),
        ),
      ];
    return this.start(params, session);
  }

  /** A response the server decided on (after a speech turn); the caller checks `responding`. */
  start(params: RealtimeResponseCreateParams, session: Session): Effect[] {
    const { newId, items } = this.options;
    const modality = outputModality(params.output_modalities ?? session.output_modalities);
    const inConversation = params.conversation !== "none";
    const context: readonly StoredItem[] = params.input
      ? params.input.map(
          (item) =>
            items.find(("id" in item && item.id) || "") ?? {
              item: item as StoredItem["item"],
              audioMs: 0,
            },
        )
      : items.all;
    const plan = planAnswer(context, params, session);
    const base = this.announce(params, session, inConversation, modality);
    const setup: ResponseSetup = {
      base,
      conversation: inConversation ? items : undefined,
      previousItemId: items.lastId(),
      inputUsage: inputUsage(context, session.instructions ?? ""),
      newId,
    };
    const out: Effect[] = [
      send({
        type: "response.created",
        event_id: newId("event"),
        response: base,
      } satisfies ResponseCreatedEvent),
    ];
    if (plan.kind === "function_call") return [...out, ...functionCallResponse(setup, plan)];
    const response = new MessageResponse(setup, plan.text, modality, this.options.responseAudioMs);
    if (modality === "audio") {
      // Its audio takes over the output buffer from an answer still playing.
      if (this.playing) out.push(...this.playing.replaced());
      this.active = response;
      this.playing = response;
      this.spoken = true;
    }
    out.push(...response.begin());
    return out;
  }

  /** The response as `response.created` announces it. */
  private announce(
    params: RealtimeResponseCreateParams,
    session: Session,
    inConversation: boolean,
    modality: "audio" | "text",
  ): RealtimeResponse & { id: string } {
    const id = this.options.newId("resp");
    this.lastResponseId = id;
    return {
      id,
      object: "realtime.response",
      status: "in_progress",
      output: [],
      conversation_id: inConversation ? this.options.conversationId : undefined,
      output_modalities: [modality],
      max_output_tokens: params.max_output_tokens ?? session.max_output_tokens ?? "inf",
      audio: {
        output: {
          format: session.audio?.output?.format,
          voice: session.audio?.output?.voice,
        },
      },
      metadata: params.metadata ?? null,
    };
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

  /** `response.cancel`, of the active response or of the one named. */
  cancelRequested(responseId: string | undefined, clientEventId: string | null): Effect[] {
    if (!this.active || (responseId !== undefined && responseId !== this.active.id))
      return [
        sendError(
          this.options.newId,
          invalidRequest(
            "response_cancel_not_active",
            "Cancellation failed: no active response found",
            null,
            clientEventId,
          ),
        ),
      ];
    return this.cancel("client_cancelled");
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
  interruptBySpeech(): Effect[] {
    if (this.active) return this.cancel("turn_detected");
    const playing = this.playing;
    if (!playing) return [];
    this.playing = undefined;
    return playing.clearAudio();
  }

  /** `output_audio_buffer.clear`: cuts the audio; see {@link MessageResponse.clearAudio}. */
  clearOutputAudio(): Effect[] {
    const playing = this.playing;
    if (!playing)
      return [
        send({
          type: "output_audio_buffer.cleared",
          event_id: this.options.newId("event"),
          response_id: this.lastResponseId ?? "",
        } satisfies RealtimeServerEvent.OutputAudioBufferCleared),
      ];
    this.playing = undefined;
    if (this.active === playing) this.active = undefined;
    return playing.clearAudio();
  }
}

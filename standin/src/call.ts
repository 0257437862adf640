/**
 * One Realtime WebRTC call: the Realtime conversation on the shared media (media-call.ts),
 * with the call's record for the state endpoint (session, items, truncations).
 */
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import { parseClientEvent } from "./client-events.js";
import { Conversation } from "./conversation.js";
import type { NewId } from "./ids.js";
import type { ItemRecord } from "./items.js";
import {
  MediaCall,
  type Dialogue,
  type EndedReason,
  type MediaEffect,
  type MediaSnapshot,
} from "./media-call.js";
import type { Session } from "./session.js";

export {
  EVENTS_CHANNEL,
  InvalidOfferError,
  type CallState,
  type EndedReason,
} from "./media-call.js";

/** A call as `GET /_standin/state` reports it. */
export interface CallSnapshot extends MediaSnapshot {
  /** The client secret that opened the call (`null` when a standard key did). */
  secret: string | null;
  session: Session;
  /**
   * Each accepted `conversation.item.truncate`, as confirmed to the client, with `sentMs`: how
   * much of the latest answer's audio had been sent when it arrived (what a client can at most
   * have heard of it, while generation runs further ahead).
   */
  truncations: { itemId: string; audioEndMs: number; sentMs: number }[];
  /** The conversation's items in order, as text: what a response on this call is built from. */
  items: ItemRecord[];
  /** The `OpenAI-Safety-Identifier` header of the request that opened the call. */
  safetyIdentifier: string | null;
}

export interface CallOptions {
  id: string;
  secret: string | null;
  /** The session the call starts with; its `expires_at` is set from `maxCallSeconds`. */
  session: Session;
  newId: NewId;
  responseAudioMs: number;
  maxCallSeconds: number;
  idleCallSeconds: number;
  /** Wall clock (ms) for the session's `expires_at`. */
  nowMs: number;
  /** Wall clock (ms) for `endedAt`. Default `Date.now`. */
  now?: () => number;
  /** The `OpenAI-Safety-Identifier` the call was opened with. Default `null`. */
  safetyIdentifier?: string | null;
  log: (line: string) => void;
  onEnded?: (call: Call) => void;
}

/** The Realtime conversation as the media's dialogue. */
function realtimeDialogue(conversation: Conversation): Dialogue {
  return {
    start: () => conversation.start(),
    receive: (data) => {
      const parsed = parseClientEvent(data);
      return {
        type: parsed.ok ? parsed.event.type : (parsed.type ?? "(invalid)"),
        effects: conversation.handle(parsed),
      };
    },
    micPacket: (bytes) => conversation.micPacket(bytes),
    audioProgress: (responseId, sentMs) => conversation.audioProgress(responseId, sentMs),
    audioFinished: (responseId) => conversation.audioFinished(responseId),
  };
}

/** A live Realtime call; create it with {@link Call.answer}. */
export class Call extends MediaCall {
  private readonly options: CallOptions;
  private readonly conversation: Conversation;
  private readonly truncations: { itemId: string; audioEndMs: number; sentMs: number }[];

  private constructor(options: CallOptions, conversation: Conversation) {
    super(options, realtimeDialogue(conversation));
    this.options = options;
    this.conversation = conversation;
    this.truncations = [];
  }

  /**
   * Answers an SDP offer. Resolves once the answer (with all local ICE candidates, since
   * the HTTP exchange has no trickle) is ready; the connection completes afterwards.
   */
  static answer(
    offerSdp: string,
    options: CallOptions,
  ): Promise<{ call: Call; answerSdp: string }> {
    return MediaCall.answerWith(offerSdp, () => {
      const session: Session = {
        ...options.session,
        expires_at: Math.floor(options.nowMs / 1000) + options.maxCallSeconds,
      };
      const conversation = new Conversation({
        session,
        newId: options.newId,
        responseAudioMs: options.responseAudioMs,
      });
      return new Call(options, conversation);
    });
  }

  protected override onSent(sent: { type: string }): void {
    // The dialogue is this call's conversation: what it sends is a Realtime event.
    const event = sent as RealtimeServerEvent;
    if (event.type !== "conversation.item.truncated") return;
    const { item_id: itemId, audio_end_ms: audioEndMs } = event;
    this.truncations.push({ itemId, audioEndMs, sentMs: this.latestAudioSentMs });
  }

  protected override farewell(reason: EndedReason): MediaEffect[] {
    return reason === "max_duration" ? this.conversation.expire(this.options.maxCallSeconds) : [];
  }

  protected override afterEnd(): void {
    this.options.onEnded?.(this);
  }

  snapshot(): CallSnapshot {
    const media = this.mediaSnapshot();
    return {
      ...media,
      secret: this.options.secret,
      session: this.conversation.currentSession,
      truncations: [...this.truncations],
      items: this.conversation.itemRecords,
      safetyIdentifier: this.options.safetyIdentifier ?? null,
    };
  }
}

import type { Listener } from "./emitter";
import type { MediaCallEventMap } from "./mediaCall";
import type { AudioBytes } from "./transport/webrtc";
import type {
  ConnectTimings,
  ConversationEntry,
  MicState,
  RealtimeSessionState,
  SpeakingState,
  UsageTotals,
} from "./types";

/**
 * The events every voice session has, whichever API it speaks: its call's (`mediaCall.ts`),
 * but for the client events each API types its own way, and the conversation.
 */
export interface VoiceSessionEventMap extends Omit<MediaCallEventMap<unknown>, "sent"> {
  conversation: readonly ConversationEntry[];
  speaking: SpeakingState;
}

/**
 * What `RealtimeSession` and `LiveSession` have in common: what a page drives without knowing
 * which API the call runs on. `interrupt()` and `sendText()` return false where the API has
 * no such client event (Live).
 */
export interface VoiceSession {
  readonly state: RealtimeSessionState;
  readonly callId: string | null;
  readonly conversation: readonly ConversationEntry[];
  readonly mic: MicState;
  readonly timings: ConnectTimings;
  /** Token counts over the call's responses (none on a Live call, which bills by the second). */
  readonly usage: UsageTotals;
  on<K extends keyof VoiceSessionEventMap>(
    type: K,
    listener: Listener<VoiceSessionEventMap[K]>,
  ): () => void;
  connect(): Promise<void>;
  setMuted(muted: boolean): void;
  interrupt(): boolean;
  sendText(text: string): boolean;
  getStats(): Promise<AudioBytes>;
  dispose(): void;
}

import type {
  RealtimeError,
  RealtimeSessionCreateRequest,
} from "openai/resources/realtime/realtime";
import type { RealtimeConnectError } from "./errors";
import type { ChannelProblem } from "./protocol/channelEvent";
import type { LiveCloseReason } from "./protocol/live/parse";

/*
 * The narrow slices of the WebRTC and media APIs the session uses. The browser's own
 * objects satisfy them; tests pass hand-written fakes. Keeping them narrow documents exactly
 * what a port to another runtime (React Native, Node with a WebRTC library) has to provide.
 */

/** A media track as far as the session needs one. */
export interface MediaStreamTrackLike {
  readonly kind: string;
  enabled: boolean;
  stop(): void;
}

/** A media stream as far as the session needs one. */
export interface MediaStreamLike {
  getTracks(): MediaStreamTrackLike[];
  getAudioTracks(): MediaStreamTrackLike[];
}

/** The sending half of the audio transceiver. */
export interface RtpSenderLike {
  replaceTrack(track: MediaStreamTrackLike | null): Promise<void>;
}

/** The data channel carrying Realtime events as JSON text. */
export interface DataChannelLike {
  readonly label: string;
  readonly readyState: RTCDataChannelState;
  send(data: string): void;
  close(): void;
  addEventListener(type: "open" | "close", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
}

/** What the session reads from a `track` event. */
export interface TrackEventLike {
  readonly streams: readonly MediaStreamLike[];
}

/** The peer connection as far as the session needs one. */
export interface PeerConnectionLike {
  readonly connectionState: RTCPeerConnectionState;
  readonly iceConnectionState: RTCIceConnectionState;
  addTransceiver(kind: "audio", init: { direction: "sendrecv" }): { sender: RtpSenderLike };
  createDataChannel(label: string): DataChannelLike;
  createOffer(): Promise<{ type: RTCSdpType; sdp?: string }>;
  setLocalDescription(description: { type: RTCSdpType; sdp?: string }): Promise<void>;
  setRemoteDescription(description: { type: RTCSdpType; sdp: string }): Promise<void>;
  getStats(): Promise<ReadonlyMap<string, unknown>>;
  addEventListener(
    type: "connectionstatechange" | "iceconnectionstatechange",
    listener: () => void,
  ): void;
  addEventListener(type: "track", listener: (event: TrackEventLike) => void): void;
  close(): void;
}

/** The part of `HTMLAudioElement` the session touches to play the assistant. */
export interface AudioSinkLike {
  srcObject: unknown;
  play(): Promise<void>;
}

/** An opaque handle from {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** Time source and timers; injected so tests control both. */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale (e.g. `performance.now()`). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** `fetch` as the session calls it. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/**
 * `auto` picks `aggressive` on Android, where the platform echo canceller lets the
 * loudspeaker into the microphone, and `standard` elsewhere. `aggressive` detaches the
 * microphone from the call while the assistant speaks; `standard` never does.
 */
export type MuteStrategy = "auto" | "standard" | "aggressive";

/** A function the model may call. */
export interface RealtimeTool<Args = unknown> {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
  /**
   * Runs the call with the parsed arguments. They come from the model: validate them.
   * The return value is sent to the model as JSON (a string is sent as is);
   * a thrown error is sent as `{ "error": message }` so the model can tell the user.
   */
  handler(args: Args, context: { callId: string }): unknown;
}

/** Session fields a client may send in `session.update` (`type` is added for you). */
export type SessionUpdate = Omit<RealtimeSessionCreateRequest, "type">;

/** Why a session ended. */
export type CloseReason =
  /** `dispose()` was called. */
  | { kind: "client" }
  /** `connect()` failed; the error says at which stage. */
  | { kind: "connect-failed"; error: RealtimeConnectError }
  /** ICE failed: the network path to the server is gone. */
  | { kind: "ice-failed" }
  /** Nothing at all arrived from the server (not even ICE answers) for `silentMs`. */
  | { kind: "unresponsive"; silentMs: number }
  /** The server (or the network) closed the event channel. */
  | { kind: "channel-closed" }
  /** The server ended the session, e.g. at its maximum duration. */
  | { kind: "server-limit"; message: string }
  /**
   * A GPT-Live session's `session.closed`: `reason` as the server gave it, and the session's
   * billed seconds then (cumulative).
   */
  | { kind: "live-closed"; reason: LiveCloseReason; usageSeconds: number };

/** Session lifecycle. A session is used once: `idle → connecting → connected → closed`. */
export type RealtimeSessionState =
  | { status: "idle" }
  | { status: "connecting" }
  | { status: "connected"; callId: string | null }
  | { status: "closed"; reason: CloseReason };

/** One line of the conversation as a user would read it. */
export type ConversationEntry =
  | {
      kind: "user";
      /** The server item id, or a local id until the server echoes a typed message. */
      id: string;
      source: "voice" | "text";
      text: string;
      /**
       * Voice: `in_progress` while transcribing, then `done` or `failed`. Typed: `sending`
       * until the server acknowledges the item, then `done`; `not-delivered` if the session
       * ended first.
       */
      status: "in_progress" | "done" | "failed" | "sending" | "not-delivered";
    }
  | {
      kind: "assistant";
      id: string;
      text: string;
      /** `interrupted`: the user cut the audio off; `text` is what had been generated. */
      status: "in_progress" | "done" | "interrupted";
    }
  | {
      kind: "tool";
      /** The call id. */
      id: string;
      name: string;
      arguments: string;
      status: "running" | "done" | "error";
      /** The JSON sent back to the model. */
      output?: string;
    };

/** Token counts summed over every `response.done`. */
export interface UsageTotals {
  responses: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  inputTextTokens: number;
  inputAudioTokens: number;
  cachedInputTokens: number;
  outputTextTokens: number;
  outputAudioTokens: number;
}

/** Who is producing audio right now, as far as the server has told us. */
export interface SpeakingState {
  user: boolean;
  assistant: boolean;
}

/** Microphone state: `muted` is the user's choice, `live` whether audio is being sent. */
export interface MicState {
  muted: boolean;
  live: boolean;
}

export type { ConnectStep, ConnectTimings } from "./timings";

/**
 * Whether anything is arriving from the server while connected. `stalled` is true once
 * nothing (no audio, no event, not even an ICE answer) has arrived for a few seconds: the
 * call may still recover, but what is sent meanwhile may never arrive.
 */
export interface LinkState {
  stalled: boolean;
}

/** A problem reported while the session keeps running. */
export type SessionProblem =
  /** An `error` event from the server (most are recoverable). */
  | { source: "server"; error: RealtimeError }
  /** A message on the channel that is not a Realtime event. */
  | ChannelProblem
  /** Remote audio could not start (autoplay policy); call `audioElement.play()` on a click. */
  | { source: "audio"; message: string }
  /**
   * A GPT-Live `error` event. `kind`: `refused`, a client event the session's
   * `allowed_client_events` does not let the page send; `request`, another client event the
   * server rejected; `server`, anything else.
   */
  | { source: "live"; kind: "refused" | "request" | "server"; code: string; message: string };

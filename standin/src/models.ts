/**
 * The enumerations the stand-in validates against. Each list is checked at compile time
 * against the literal unions in the installed `openai` types, so upgrading the SDK with a
 * new model or voice fails `typecheck` until the list here is updated.
 */
import type { RealtimeSessionCreateResponse } from "openai/resources/realtime/client-secrets";
import type {
  AudioTranscription,
  RealtimeSessionCreateRequest,
} from "openai/resources/realtime/realtime";
import { allMembers, type Defined, type Literals } from "./type-utils.js";

type SdkRealtimeModel = Literals<Defined<RealtimeSessionCreateRequest["model"]>>;
/** The beta preview models were shut down; upstream answers them with an error. */
type DeadModel = Extract<SdkRealtimeModel, `${string}realtime-preview${string}`>;
export type RealtimeModel = Exclude<SdkRealtimeModel, DeadModel>;

export const REALTIME_MODELS = allMembers<RealtimeModel>()([
  "gpt-realtime",
  "gpt-realtime-1.5",
  "gpt-realtime-2",
  "gpt-realtime-2.1",
  "gpt-realtime-2.1-mini",
  "gpt-realtime-2025-08-28",
  "gpt-realtime-mini",
  "gpt-realtime-mini-2025-10-06",
  "gpt-realtime-mini-2025-12-15",
  "gpt-audio-1.5",
  "gpt-audio-mini",
  "gpt-audio-mini-2025-10-06",
  "gpt-audio-mini-2025-12-15",
]);

/** Upstream's default when a client secret request names no model. */
export const DEFAULT_MODEL: RealtimeModel = "gpt-realtime";

type SdkVoice = Literals<Defined<RealtimeSessionCreateResponse.Audio.Output["voice"]>>;
export const VOICES = allMembers<SdkVoice>()([
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "sage",
  "shimmer",
  "verse",
  "marin",
  "cedar",
]);
export const DEFAULT_VOICE: SdkVoice = "alloy";

type SdkTranscriptionModel = Literals<Defined<AudioTranscription["model"]>>;
export const TRANSCRIPTION_MODELS = allMembers<SdkTranscriptionModel>()([
  "whisper-1",
  "gpt-transcribe",
  "gpt-live-transcribe",
  "gpt-4o-mini-transcribe",
  "gpt-4o-mini-transcribe-2025-12-15",
  "gpt-4o-transcribe",
  "gpt-4o-transcribe-diarize",
  "gpt-realtime-whisper",
]);

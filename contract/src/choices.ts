/**
 * What a caller may choose about a voice session, the same for a minted secret
 * (`realtimeToken`) and a brokered call (`realtimeCall`), and what the server says it accepts.
 */

/** Output modalities a client may choose. `audio` also yields transcripts; `text` is text only. */
export const OUTPUT_MODALITIES = ["audio", "text"] as const;
export type OutputModality = (typeof OUTPUT_MODALITIES)[number];

/**
 * Input noise reduction: `near_field` for a headset or a laptop held close, `far_field` for a
 * conference-room or speakerphone microphone, `off` for none (the browser's own noise
 * suppression still runs).
 */
export const NOISE_REDUCTIONS = ["near_field", "far_field", "off"] as const;
export type NoiseReduction = (typeof NOISE_REDUCTIONS)[number];

/**
 * How the server decides the user finished a turn: `server_vad` on silence, `semantic_vad`
 * on what was said (see `eagerness`), `push_to_talk` never — the client commits the audio
 * buffer and asks for a response itself when the user releases the talk button.
 */
export const TURN_DETECTIONS = ["server_vad", "semantic_vad", "push_to_talk"] as const;
export type TurnDetection = (typeof TURN_DETECTIONS)[number];

/** How readily `semantic_vad` ends the user's turn; `auto` is the model's own choice. */
export const VAD_EAGERNESS = ["low", "medium", "high", "auto"] as const;
export type VadEagerness = (typeof VAD_EAGERNESS)[number];

/** How calls are opened; the backend's `REALTIME_MODES` param says which it serves. */
export const REALTIME_MODES = ["secret", "brokered"] as const;
export type RealtimeMode = (typeof REALTIME_MODES)[number];

/**
 * The session choices a client may send with a mint or a call. Every field is optional; any
 * other field is rejected with `invalid-argument`. Everything else about the session (model,
 * instructions, transcription model, tools, limits) is server configuration.
 */
export interface CallChoices {
  /** A voice from `choices.voices` of a previous response (the server's `ALLOWED_VOICES`). */
  voice?: string;
  /** `"audio"` (default) for speech in and out, `"text"` for text-only responses. */
  outputModality?: OutputModality;
  /**
   * ISO-639-1 language of the user's speech, a hint for input transcription; one of
   * `choices.languages`. Omit to let the transcription model detect it.
   */
  language?: string;
  /** One of `choices.noiseReductions`. */
  noiseReduction?: NoiseReduction;
  /** One of `choices.turnDetections`. */
  turnDetection?: TurnDetection;
  /** One of `choices.eagerness`; only with `turnDetection` `"semantic_vad"` (or that default). */
  eagerness?: VadEagerness;
}

/** The session a secret or a call was created with, as far as the client chose it. */
export interface CallSession {
  voice: string;
  outputModality: OutputModality;
  language: string | null;
  /** Whether the session transcribes the user's speech (server config). */
  transcription: boolean;
  noiseReduction: NoiseReduction;
  /** `push_to_talk`: the client must commit each turn (the session has no turn detection). */
  turnDetection: TurnDetection;
  /** Set only with `semantic_vad`. */
  eagerness: VadEagerness | null;
}

/** The values the server accepts for the noise and turn-taking fields, for building pickers. */
export interface SessionChoiceSets {
  noiseReductions: NoiseReduction[];
  turnDetections: TurnDetection[];
  eagerness: VadEagerness[];
}

/**
 * What the server accepts for each choice and what it picks when one is left out, for
 * building pickers (`choices` of every mint, call and prepare result).
 */
export interface SessionChoiceOptions extends SessionChoiceSets {
  voices: string[];
  languages: string[];
  outputModalities: OutputModality[];
  /** The server's defaults (`DEFAULT_*` params). `eagerness` applies with `semantic_vad`. */
  defaults: {
    voice: string;
    noiseReduction: NoiseReduction;
    turnDetection: TurnDetection;
    eagerness: VadEagerness;
  };
}

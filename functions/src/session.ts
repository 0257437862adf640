/**
 * The session allowlist: what a client may choose, and the session config sent to OpenAI.
 *
 * Pure. Everything not listed in {@link CallChoices} is server configuration.
 * The config attached to a client secret is a default, not a lock: whoever holds the secret
 * can still change instructions, tools or voice (before the first audio) with `session.update`
 * over the data channel. Only the model is fixed.
 */
import type { RealtimeSessionCreateRequest } from "openai/resources/realtime/realtime";
import type { RealtimeAudioConfigInput } from "openai/resources/realtime/realtime";
import {
  OUTPUT_MODALITIES,
  type NoiseReduction,
  type OutputModality,
  type CallChoices,
  type CallSession,
  type SessionChoiceOptions,
  type TurnDetection,
  type VadEagerness,
} from "voice-contract";

/** Largest accepted request payload, as JSON. The real choices fit in well under 200 bytes. */
export const MAX_REQUEST_BYTES = 1024;

const REQUEST_FIELDS = [
  "voice",
  "outputModality",
  "language",
  "noiseReduction",
  "turnDetection",
  "eagerness",
] as const satisfies ReadonlyArray<keyof CallChoices>;

/** The server side of the allowlist. */
export interface SessionChoicesPolicy {
  voices: readonly string[];
  defaultVoice: string;
  languages: readonly string[];
  noiseReductions: readonly NoiseReduction[];
  defaultNoiseReduction: NoiseReduction;
  turnDetections: readonly TurnDetection[];
  defaultTurnDetection: TurnDetection;
  /** Eagerness values for `semantic_vad`. */
  eagerness: readonly VadEagerness[];
  defaultEagerness: VadEagerness;
}

/** A client's validated choices, defaults filled in. */
export interface SessionChoices {
  voice: string;
  outputModality: OutputModality;
  language: string | null;
  noiseReduction: NoiseReduction;
  turnDetection: TurnDetection;
  /** Set exactly when `turnDetection` is `semantic_vad`. */
  eagerness: VadEagerness | null;
}

export type ParseResult =
  { ok: true; value: SessionChoices } | { ok: false; field: string; message: string };

function reject(field: string, message: string): ParseResult {
  return { ok: false, field, message };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Validates the callable's `data` against the allowlist. Never throws; a rejection names the
 * field and says what would be accepted.
 */
export function parseTokenRequest(data: unknown, policy: SessionChoicesPolicy): ParseResult {
  const defaults: SessionChoices = {
    voice: policy.defaultVoice,
    outputModality: "audio",
    language: null,
    noiseReduction: policy.defaultNoiseReduction,
    turnDetection: policy.defaultTurnDetection,
    eagerness: policy.defaultTurnDetection === "semantic_vad" ? policy.defaultEagerness : null,
  };
  if (data === undefined || data === null) return { ok: true, value: defaults };
  if (!isPlainObject(data)) {
    return reject(
      "(request)",
      "The request must be an object like { voice, outputModality, language }.",
    );
  }
  const size = Buffer.byteLength(JSON.stringify(data), "utf8");
  if (size > MAX_REQUEST_BYTES) {
    return reject(
      "(request)",
      `The request is ${size} bytes; at most ${MAX_REQUEST_BYTES} are accepted.`,
    );
  }
  for (const key of Object.keys(data)) {
    if (!(REQUEST_FIELDS as readonly string[]).includes(key)) {
      return reject(
        key,
        `"${truncate(key)}" cannot be set by the client; allowed fields: ${REQUEST_FIELDS.join(", ")}.`,
      );
    }
  }

  const choices = { ...defaults };
  const { voice, outputModality, language } = data;
  if (voice !== undefined) {
    if (typeof voice !== "string") return reject("voice", "voice must be a string.");
    if (!policy.voices.includes(voice)) {
      return reject(
        "voice",
        `voice "${truncate(voice)}" is not allowed; use one of: ${policy.voices.join(", ")}.`,
      );
    }
    choices.voice = voice;
  }
  if (outputModality !== undefined) {
    if (typeof outputModality !== "string") {
      return reject("outputModality", "outputModality must be a string.");
    }
    if (!(OUTPUT_MODALITIES as readonly string[]).includes(outputModality)) {
      return reject(
        "outputModality",
        `outputModality "${truncate(outputModality)}" is not allowed; use one of: ${OUTPUT_MODALITIES.join(", ")}.`,
      );
    }
    choices.outputModality = outputModality as OutputModality;
  }
  if (language !== undefined && language !== null) {
    if (typeof language !== "string")
      return reject("language", "language must be a string or null.");
    if (!policy.languages.includes(language)) {
      return reject(
        "language",
        `language "${truncate(language)}" is not allowed; use one of: ${policy.languages.join(", ")}.`,
      );
    }
    choices.language = language;
  }
  return parseTurnTaking(data, policy, choices);
}

/** Noise reduction, turn detection and eagerness, which depends on the turn detection. */
function parseTurnTaking(
  data: Record<string, unknown>,
  policy: SessionChoicesPolicy,
  choices: SessionChoices,
): ParseResult {
  const { noiseReduction, turnDetection, eagerness } = data;
  if (noiseReduction !== undefined) {
    const picked = pickAllowed("noiseReduction", noiseReduction, policy.noiseReductions);
    if (!picked.ok) return picked;
    choices.noiseReduction = picked.value;
  }
  if (turnDetection !== undefined) {
    const picked = pickAllowed("turnDetection", turnDetection, policy.turnDetections);
    if (!picked.ok) return picked;
    choices.turnDetection = picked.value;
    choices.eagerness = picked.value === "semantic_vad" ? policy.defaultEagerness : null;
  }
  if (eagerness !== undefined) {
    if (choices.turnDetection !== "semantic_vad") {
      return reject(
        "eagerness",
        `eagerness only applies to turnDetection "semantic_vad"; this request has "${choices.turnDetection}".`,
      );
    }
    const picked = pickAllowed("eagerness", eagerness, policy.eagerness);
    if (!picked.ok) return picked;
    choices.eagerness = picked.value;
  }
  return { ok: true, value: choices };
}

function pickAllowed<T extends string>(
  field: string,
  value: unknown,
  allowed: readonly T[],
): { ok: true; value: T } | { ok: false; field: string; message: string } {
  if (typeof value !== "string") return { ok: false, field, message: `${field} must be a string.` };
  if (!(allowed as readonly string[]).includes(value)) {
    return {
      ok: false,
      field,
      message: `${field} "${truncate(value)}" is not allowed; use one of: ${allowed.join(", ")}.`,
    };
  }
  return { ok: true, value: value as T };
}

/**
 * Echoing user input into messages is fine; echoing a kilobyte of it is not. Cut by code
 * point, so a character outside the BMP is kept whole or dropped, never halved.
 */
/** `text` cut to `max` characters, for quoting what a client sent in an error. */
export function truncate(text: string, max = 40): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max).join("")}…` : text;
}

/** Server-side session settings (from params). */
export interface ServerSessionConfig {
  model: string;
  instructions: string;
  /** Empty: no input transcription. */
  transcriptionModel: string;
}

/** The session config sent with the mint: the server's settings plus the client's choices. */
export function buildSessionConfig(
  choices: SessionChoices,
  server: ServerSessionConfig,
): RealtimeSessionCreateRequest {
  const transcription = server.transcriptionModel
    ? {
        transcription: {
          model: server.transcriptionModel,
          ...(choices.language !== null ? { language: choices.language } : {}),
        },
      }
    : {};
  return {
    type: "realtime",
    model: server.model,
    instructions: server.instructions,
    output_modalities: [choices.outputModality],
    audio: {
      input: {
        // Off is no field at all: the API's default is no noise reduction (it documents
        // null for "off", which the SDK's request type does not admit).
        ...(choices.noiseReduction === "off"
          ? {}
          : { noise_reduction: { type: choices.noiseReduction } }),
        ...transcription,
        turn_detection: turnDetectionConfig(choices),
      },
      output: { voice: choices.voice },
    },
  };
}

/**
 * The session's turn detection. Push-to-talk is none at all: the client commits the audio
 * buffer and asks for a response itself.
 */
function turnDetectionConfig(choices: SessionChoices): RealtimeAudioConfigInput["turn_detection"] {
  switch (choices.turnDetection) {
    case "push_to_talk":
      return null;
    case "server_vad":
      return { type: "server_vad", create_response: true, interrupt_response: true };
    case "semantic_vad":
      return {
        type: "semantic_vad",
        eagerness: choices.eagerness ?? "auto",
        create_response: true,
        interrupt_response: true,
      };
  }
}

/**
 * The values the server accepts for every request field and its defaults, for the response's
 * `choices` (copies: the caller may not change the policy through them).
 */
export function describeChoices(policy: SessionChoicesPolicy): SessionChoiceOptions {
  return {
    voices: [...policy.voices],
    languages: [...policy.languages],
    outputModalities: [...OUTPUT_MODALITIES],
    noiseReductions: [...policy.noiseReductions],
    turnDetections: [...policy.turnDetections],
    eagerness: [...policy.eagerness],
    defaults: {
      voice: policy.defaultVoice,
      noiseReduction: policy.defaultNoiseReduction,
      turnDetection: policy.defaultTurnDetection,
      eagerness: policy.defaultEagerness,
    },
  };
}

/** What the client is told about the session it chose. */
export function describeSession(choices: SessionChoices, server: ServerSessionConfig): CallSession {
  return { ...choices, transcription: server.transcriptionModel !== "" };
}

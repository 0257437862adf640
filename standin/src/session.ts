/**
 * Realtime session configuration: strict validation of what clients send (in a client
 * secret request or a `session.update`), upstream's defaults, and merging updates.
 * Pure: no I/O, no clock.
 */
import type { RealtimeSessionCreateResponse } from "openai/resources/realtime/client-secrets";
import type {
  AudioTranscription,
  RealtimeAudioConfig,
  RealtimeAudioConfigInput,
  RealtimeAudioConfigOutput,
  RealtimeAudioFormats,
  RealtimeAudioInputTurnDetection,
  RealtimeFunctionTool,
  RealtimeReasoningEffort,
  RealtimeSessionCreateRequest,
  RealtimeTruncationRetentionRatio,
  NoiseReductionType,
} from "openai/resources/realtime/realtime";
import type { ResponsePrompt } from "openai/resources/responses/responses";
import { errors, fail, ok, type Result } from "./api-errors.js";
import {
  DEFAULT_MODEL,
  DEFAULT_VOICE,
  REALTIME_MODELS,
  TRANSCRIPTION_MODELS,
  VOICES,
} from "./models.js";
import { allKeys, allMembers, type Defined } from "./type-utils.js";
import * as v from "./validate.js";

/** The session as the stand-in holds it: upstream's response shape with defaults filled. */
export type Session = RealtimeSessionCreateResponse;

const SESSION_KEYS = allKeys<RealtimeSessionCreateRequest>()([
  "type",
  "audio",
  "include",
  "instructions",
  "max_output_tokens",
  "model",
  "output_modalities",
  "parallel_tool_calls",
  "prompt",
  "reasoning",
  "tool_choice",
  "tools",
  "tracing",
  "truncation",
]);
const AUDIO_KEYS = allKeys<RealtimeAudioConfig>()(["input", "output"]);
const INPUT_KEYS = allKeys<RealtimeAudioConfigInput>()([
  "format",
  "noise_reduction",
  "transcription",
  "turn_detection",
]);
const OUTPUT_KEYS = allKeys<RealtimeAudioConfigOutput>()(["format", "speed", "voice"]);
const PCM_KEYS = allKeys<RealtimeAudioFormats.AudioPCM>()(["type", "rate"]);
const TRANSCRIPTION_KEYS = allKeys<AudioTranscription>()([
  "delay",
  "keywords",
  "language",
  "languages",
  "model",
  "prompt",
]);
const SERVER_VAD_KEYS = allKeys<RealtimeAudioInputTurnDetection.ServerVad>()([
  "type",
  "create_response",
  "idle_timeout_ms",
  "interrupt_response",
  "prefix_padding_ms",
  "silence_duration_ms",
  "threshold",
]);
const SEMANTIC_VAD_KEYS = allKeys<RealtimeAudioInputTurnDetection.SemanticVad>()([
  "type",
  "create_response",
  "eagerness",
  "interrupt_response",
]);
const FUNCTION_TOOL_KEYS = allKeys<RealtimeFunctionTool>()([
  "description",
  "name",
  "parameters",
  "type",
]);
const RETENTION_KEYS = allKeys<RealtimeTruncationRetentionRatio>()([
  "retention_ratio",
  "type",
  "token_limits",
]);
const PROMPT_KEYS = allKeys<ResponsePrompt>()(["id", "variables", "version"]);

const FORMAT_TYPES = allMembers<Defined<RealtimeAudioFormats["type"]>>()([
  "audio/pcm",
  "audio/pcmu",
  "audio/pcma",
]);
const MODALITIES = ['["audio"]', '["text"]'];
const TRANSCRIPTION_DELAYS = allMembers<Defined<AudioTranscription["delay"]>>()([
  "minimal",
  "low",
  "medium",
  "high",
  "xhigh",
]);
const REASONING_EFFORTS = allMembers<RealtimeReasoningEffort>()([
  "minimal",
  "low",
  "medium",
  "high",
  "xhigh",
]);
const NOISE_REDUCTION_TYPES = allMembers<NoiseReductionType>()(["near_field", "far_field"]);
const TURN_DETECTION_TYPES = allMembers<RealtimeAudioInputTurnDetection["type"]>()([
  "server_vad",
  "semantic_vad",
]);
const EAGERNESS = allMembers<Defined<RealtimeAudioInputTurnDetection.SemanticVad["eagerness"]>>()([
  "low",
  "medium",
  "high",
  "auto",
]);
/** Upstream's limit on function names, shared with the Responses API. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Checks a realtime session configuration the way upstream does: unknown fields, wrong
 * types and out-of-range values are rejected with the offending parameter's path.
 * `path` is where the object sits in the request (`session`).
 */
export function validateSessionRequest(
  input: unknown,
  path = "session",
): Result<RealtimeSessionCreateRequest> {
  const problem = checkSession(input, path);
  return problem ? fail(problem) : ok(input as RealtimeSessionCreateRequest);
}

function checkSession(s: unknown, path: string): v.Check {
  const at = (key: string) => v.join(path, key);
  if (!v.isObject(s)) return errors.invalidType(path, "an object", s);
  return (
    v.unknownKeys(s, path, SESSION_KEYS) ??
    v.requireKeys(s, path, ["type"]) ??
    checkSessionType(s.type, at("type")) ??
    v.optional(s.model, (m) => v.oneOf(m, at("model"), REALTIME_MODELS)) ??
    v.optional(s.instructions, (i) => v.string(i, at("instructions"))) ??
    v.optional(s.output_modalities, (m) => checkModalities(m, at("output_modalities"))) ??
    v.optional(s.max_output_tokens, (m) => checkMaxTokens(m, at("max_output_tokens"))) ??
    v.optional(s.parallel_tool_calls, (p) => v.boolean(p, at("parallel_tool_calls"))) ??
    v.optional(s.include, (i) =>
      v.array(i, at("include"), (e, p) =>
        v.oneOf(e, p, ["item.input_audio_transcription.logprobs"]),
      ),
    ) ??
    v.optional(s.prompt, (p) => (p === null ? undefined : checkPrompt(p, at("prompt")))) ??
    v.optional(
      s.reasoning,
      (r) =>
        v.object(r, at("reasoning"), ["effort"]) ??
        v.optional((r as v.JsonObject).effort, (e) =>
          v.oneOf(e, at("reasoning.effort"), REASONING_EFFORTS),
        ),
    ) ??
    v.optional(s.tools, (t) => v.array(t, at("tools"), checkTool)) ??
    v.optional(s.tool_choice, (c) => checkToolChoice(c, at("tool_choice"))) ??
    v.optional(s.tracing, (t) => checkTracing(t, at("tracing"))) ??
    v.optional(s.truncation, (t) => checkTruncation(t, at("truncation"))) ??
    v.optional(s.audio, (a) => checkAudio(a, at("audio")))
  );
}

function checkSessionType(type: unknown, path: string): v.Check {
  if (type === "transcription")
    return errors.unsupported(
      path,
      "Transcription sessions are not supported by the local stand-in; use type 'realtime'.",
    );
  return v.oneOf(type, path, ["realtime", "transcription"]);
}

function checkModalities(value: unknown, path: string): v.Check {
  const problem = v.array(value, path, (e, p) => v.oneOf(e, p, ["audio", "text"]));
  if (problem) return problem;
  // Upstream answers either audio (with a transcript) or text, never both.
  return (value as unknown[]).length === 1
    ? undefined
    : errors.invalidValue(path, value, MODALITIES);
}

function checkMaxTokens(value: unknown, path: string): v.Check {
  if (value === "inf") return undefined;
  if (typeof value === "string") return errors.invalidValue(path, value, ["inf"]);
  return v.integer(value, path, 1, 4096);
}

function checkPrompt(value: unknown, path: string): v.Check {
  const p = value as v.JsonObject;
  return (
    v.object(value, path, PROMPT_KEYS, ["id"]) ??
    v.string(p.id, v.join(path, "id")) ??
    v.optional(p.version, (x) => (x === null ? undefined : v.string(x, v.join(path, "version")))) ??
    v.optional(p.variables, (x) =>
      x === null || v.isObject(x)
        ? undefined
        : errors.invalidType(v.join(path, "variables"), "an object", x),
    )
  );
}

function checkTool(value: unknown, path: string): v.Check {
  if (v.isObject(value) && value.type === "mcp")
    return errors.unsupported(
      v.join(path, "type"),
      "MCP tools are not supported by the local stand-in (it has no network access).",
    );
  const t = value as v.JsonObject;
  return (
    v.object(value, path, FUNCTION_TOOL_KEYS, ["name"]) ??
    v.optional(t.type, (x) => v.oneOf(x, v.join(path, "type"), ["function", "mcp"])) ??
    v.string(t.name, v.join(path, "name")) ??
    (TOOL_NAME.test(t.name as string)
      ? undefined
      : errors.invalidValue(v.join(path, "name"), t.name)) ??
    v.optional(t.description, (x) => v.string(x, v.join(path, "description"))) ??
    v.optional(t.parameters, (x) =>
      v.isObject(x) ? undefined : errors.invalidType(v.join(path, "parameters"), "an object", x),
    )
  );
}

function checkToolChoice(value: unknown, path: string): v.Check {
  if (typeof value === "string") return v.oneOf(value, path, ["none", "auto", "required"]);
  if (v.isObject(value) && value.type === "mcp")
    return errors.unsupported(
      v.join(path, "type"),
      "MCP tools are not supported by the local stand-in.",
    );
  return (
    v.object(value, path, ["type", "name"], ["type", "name"]) ??
    v.oneOf((value as v.JsonObject).type, v.join(path, "type"), ["function", "mcp"]) ??
    v.string((value as v.JsonObject).name, v.join(path, "name"))
  );
}

function checkTracing(value: unknown, path: string): v.Check {
  if (value === null || value === "auto") return undefined;
  if (typeof value === "string") return errors.invalidValue(path, value, ["auto"]);
  const t = value as v.JsonObject;
  return (
    v.object(value, path, ["group_id", "metadata", "workflow_name"]) ??
    v.optional(t.group_id, (x) => v.string(x, v.join(path, "group_id"))) ??
    v.optional(t.workflow_name, (x) => v.string(x, v.join(path, "workflow_name"))) ??
    v.optional(t.metadata, (x) =>
      v.isObject(x) ? undefined : errors.invalidType(v.join(path, "metadata"), "an object", x),
    )
  );
}

function checkTruncation(value: unknown, path: string): v.Check {
  if (typeof value === "string") return v.oneOf(value, path, ["auto", "disabled"]);
  const t = value as v.JsonObject;
  return (
    v.object(value, path, RETENTION_KEYS, ["type", "retention_ratio"]) ??
    v.oneOf(t.type, v.join(path, "type"), ["retention_ratio"]) ??
    v.number(t.retention_ratio, v.join(path, "retention_ratio"), 0, 1) ??
    v.optional(
      t.token_limits,
      (x) =>
        v.object(x, v.join(path, "token_limits"), ["post_instructions"]) ??
        v.optional((x as v.JsonObject).post_instructions, (n) =>
          v.integer(n, v.join(path, "token_limits.post_instructions"), 0),
        ),
    )
  );
}

function checkAudio(value: unknown, path: string): v.Check {
  const a = value as v.JsonObject;
  return (
    v.object(value, path, AUDIO_KEYS) ??
    v.optional(a.input, (x) => checkInput(x, v.join(path, "input"))) ??
    v.optional(a.output, (x) => checkOutput(x, v.join(path, "output")))
  );
}

function checkFormat(value: unknown, path: string): v.Check {
  const f = value as v.JsonObject;
  const problem =
    v.object(value, path, PCM_KEYS, ["type"]) ??
    v.oneOf(f.type, v.join(path, "type"), FORMAT_TYPES);
  if (problem) return problem;
  if (f.type !== "audio/pcm")
    return f.rate === undefined ? undefined : errors.unknownParameter(v.join(path, "rate"));
  // 24 kHz is the only PCM rate upstream accepts.
  return v.optional(f.rate, (r) =>
    r === 24000 ? undefined : errors.invalidValue(v.join(path, "rate"), r, ["24000"]),
  );
}

function checkInput(value: unknown, path: string): v.Check {
  const i = value as v.JsonObject;
  const at = (key: string) => v.join(path, key);
  return (
    v.object(value, path, INPUT_KEYS) ??
    v.optional(i.format, (x) => checkFormat(x, at("format"))) ??
    v.optional(i.noise_reduction, (x) =>
      x === null
        ? undefined
        : (v.object(x, at("noise_reduction"), ["type"]) ??
          v.optional((x as v.JsonObject).type, (t) =>
            v.oneOf(t, at("noise_reduction.type"), NOISE_REDUCTION_TYPES),
          )),
    ) ??
    v.optional(i.transcription, (x) =>
      x === null ? undefined : checkTranscription(x, at("transcription")),
    ) ??
    v.optional(i.turn_detection, (x) =>
      x === null ? undefined : checkTurnDetection(x, at("turn_detection")),
    )
  );
}

function checkTranscription(value: unknown, path: string): v.Check {
  const t = value as v.JsonObject;
  return (
    v.object(value, path, TRANSCRIPTION_KEYS) ??
    v.optional(t.model, (x) => v.oneOf(x, v.join(path, "model"), TRANSCRIPTION_MODELS)) ??
    v.optional(t.language, (x) => v.string(x, v.join(path, "language"))) ??
    v.optional(t.languages, (x) => v.array(x, v.join(path, "languages"), v.string)) ??
    v.optional(t.keywords, (x) => v.array(x, v.join(path, "keywords"), v.string)) ??
    v.optional(t.prompt, (x) => v.string(x, v.join(path, "prompt"))) ??
    v.optional(t.delay, (x) => v.oneOf(x, v.join(path, "delay"), TRANSCRIPTION_DELAYS))
  );
}

function checkTurnDetection(value: unknown, path: string): v.Check {
  const at = (key: string) => v.join(path, key);
  if (!v.isObject(value)) return errors.invalidType(path, "an object", value);
  const problem =
    v.requireKeys(value, path, ["type"]) ?? v.oneOf(value.type, at("type"), TURN_DETECTION_TYPES);
  if (problem) return problem;
  const common =
    v.optional(value.create_response, (x) => v.boolean(x, at("create_response"))) ??
    v.optional(value.interrupt_response, (x) => v.boolean(x, at("interrupt_response")));
  if (value.type === "semantic_vad")
    return (
      v.unknownKeys(value, path, SEMANTIC_VAD_KEYS) ??
      common ??
      v.optional(value.eagerness, (x) => v.oneOf(x, at("eagerness"), EAGERNESS))
    );
  return (
    v.unknownKeys(value, path, SERVER_VAD_KEYS) ??
    common ??
    v.optional(value.threshold, (x) => v.number(x, at("threshold"), 0, 1)) ??
    v.optional(value.prefix_padding_ms, (x) => v.integer(x, at("prefix_padding_ms"), 0)) ??
    v.optional(value.silence_duration_ms, (x) => v.integer(x, at("silence_duration_ms"), 0)) ??
    v.optional(value.idle_timeout_ms, (x) =>
      x === null ? undefined : v.integer(x, at("idle_timeout_ms"), 0),
    )
  );
}

function checkOutput(value: unknown, path: string): v.Check {
  const o = value as v.JsonObject;
  return (
    v.object(value, path, OUTPUT_KEYS) ??
    v.optional(o.format, (x) => checkFormat(x, v.join(path, "format"))) ??
    v.optional(o.voice, (x) => v.oneOf(x, v.join(path, "voice"), VOICES)) ??
    v.optional(o.speed, (x) => v.number(x, v.join(path, "speed"), 0.25, 1.5))
  );
}

/** What upstream fills in when a session does not set instructions. */
export const DEFAULT_INSTRUCTIONS =
  "You are a helpful assistant. (Local OpenAI Realtime stand-in: replies are scripted.)";

const PCM_24K: RealtimeAudioFormats = { type: "audio/pcm", rate: 24000 };

function resolveTurnDetection(
  input: RealtimeAudioInputTurnDetection | null | undefined,
): RealtimeAudioInputTurnDetection | null {
  if (input === null) return null;
  if (input?.type === "semantic_vad")
    return { eagerness: "auto", create_response: true, interrupt_response: true, ...input };
  return {
    type: "server_vad",
    threshold: 0.5,
    prefix_padding_ms: 300,
    silence_duration_ms: 500,
    idle_timeout_ms: null,
    create_response: true,
    interrupt_response: true,
    ...input,
  };
}

/**
 * The session upstream would report for a validated request: every field it defaults is
 * filled (model, modalities, instructions, audio formats, voice, turn detection, …).
 * `transcription` and `noise_reduction` stay absent when off (upstream shows `null`; the
 * SDK's response type has no `null` for them).
 */
export function resolveSession(
  request: RealtimeSessionCreateRequest,
  meta: { id: string; expiresAt: number },
): Session {
  const input = request.audio?.input;
  const output = request.audio?.output;
  const session: Session = {
    type: "realtime",
    object: "realtime.session",
    id: meta.id,
    model: request.model ?? DEFAULT_MODEL,
    output_modalities: request.output_modalities ?? ["audio"],
    instructions: request.instructions ?? DEFAULT_INSTRUCTIONS,
    tools: (request.tools ?? []) as RealtimeFunctionTool[],
    tool_choice: request.tool_choice ?? "auto",
    max_output_tokens: request.max_output_tokens ?? "inf",
    tracing: request.tracing ?? null,
    truncation: request.truncation ?? "auto",
    prompt: request.prompt ?? null,
    expires_at: meta.expiresAt,
    audio: {
      input: {
        format: input?.format ?? PCM_24K,
        ...(input?.noise_reduction ? { noise_reduction: input.noise_reduction } : {}),
        ...(input?.transcription ? { transcription: input.transcription } : {}),
        turn_detection: resolveTurnDetection(input?.turn_detection),
      },
      output: {
        format: output?.format ?? PCM_24K,
        voice: (output?.voice as string | undefined) ?? DEFAULT_VOICE,
        speed: output?.speed ?? 1,
      },
    },
  };
  if (request.include) session.include = request.include;
  if (request.reasoning) session.reasoning = request.reasoning;
  return session;
}

/**
 * Applies a validated `session.update`. Upstream updates only the fields present; nested
 * audio settings merge per field, and a `null` turns transcription, noise reduction or turn
 * detection off.
 */
export function mergeSession(current: Session, update: RealtimeSessionCreateRequest): Session {
  const { audio: currentAudio, id, object: _object, expires_at, ...currentRest } = current;
  const { audio: updateAudio, ...updateRest } = update;
  const merged = {
    ...currentRest,
    ...updateRest,
    audio: {
      input: { ...currentAudio?.input, ...updateAudio?.input },
      output: { ...currentAudio?.output, ...updateAudio?.output },
    },
  } as RealtimeSessionCreateRequest;
  return resolveSession(merged, { id, expiresAt: expires_at ?? 0 });
}

/** The function tools a session declares (MCP tools are rejected at validation). */
export function functionTools(session: Session): RealtimeFunctionTool[] {
  return (session.tools ?? []).filter(
    (tool): tool is RealtimeFunctionTool => tool.type === undefined || tool.type === "function",
  );
}

/** Text or audio: upstream answers in exactly one of them. */
export function outputModality(
  modalities: readonly ("text" | "audio")[] | undefined,
): "text" | "audio" {
  return modalities?.[0] === "text" ? "text" : "audio";
}

/**
 * `POST /v1/live/sessions`: the request's validation and the session it resolves to. Key lists
 * are checked against the installed `openai` Live types (see type-utils.ts), so an SDK that
 * grows a field fails `typecheck` until the stand-in knows it. Pure.
 */
import type {
  BuiltInVoice,
  ClientConfig,
  ClientEvent,
  DataChannelConfig,
  LiveCreateParams,
  MediaSessionConfig,
  ServerEvent,
  ServerEventSelector,
  SessionResource,
} from "openai/resources/live/live";
import { errors, fail, ok, type Result } from "../api-errors.js";
import { allKeys, allMembers, type Literals } from "../type-utils.js";
import * as v from "../validate.js";

type SdkLiveModel = Literals<MediaSessionConfig["model"]>;
/**
 * The Live models. The SDK's union names `gpt-live-1`; OpenAI's model list adds
 * `gpt-live-1.1` (same price), which the SDK types only as `string`.
 */
export const LIVE_MODELS: readonly string[] = [
  ...allMembers<SdkLiveModel>()(["gpt-live-1"]),
  "gpt-live-1.1",
];

export const LIVE_VOICES = allMembers<BuiltInVoice>()([
  "alloy",
  "ash",
  "ballad",
  "beacon",
  "bossa",
  "cedar",
  "cinder",
  "coral",
  "delta",
  "echo",
  "gleam",
  "marin",
  "meridian",
  "quartz",
  "ripple",
  "sage",
  "shida",
  "shimmer",
  "stone",
  "tempo",
  "verse",
  "vesper",
  "willow",
]);
/** Upstream's voice when the config names none. */
export const DEFAULT_LIVE_VOICE: BuiltInVoice = "marin";

/** Every client event type of the Live API (the allowlist may only name these). */
export const LIVE_CLIENT_EVENTS = allMembers<ClientEvent["type"]>()([
  "session.start",
  "session.update",
  "session.input_audio.append",
  "session.input_audio.mute",
  "session.input_audio.unmute",
  "session.output_audio.fixture.play",
  "session.instructions.append",
  "session.thinking.append",
  "session.commentary.append",
  "decision.create",
  "decision.item.create",
  "decision.item.delete",
  "response.item.create",
  "response.create",
  "session.close",
]);

/** Every server event type of the Live API (`allowed_server_events` selectors name these). */
export const LIVE_SERVER_EVENTS = allMembers<ServerEvent["type"]>()([
  "session.started",
  "session.updated",
  "session.input_audio.muted",
  "session.input_audio.unmuted",
  "session.output_audio.fixture.playing",
  "session.output_audio.fixture.played",
  "session.instructions.appended",
  "session.thinking.appended",
  "session.commentary.appended",
  "session.input_audio.append",
  "session.output_audio.delta",
  "session.input_transcript.delta",
  "session.output_transcript.delta",
  "session.delegation.created",
  "decision.event",
  "decision.item.created",
  "decision.item.deleted",
  "response.event",
  "session.usage.updated",
  "session.closed",
  "error",
  "info",
  "transport.dtmf.received",
  "transport.dtmf.send",
  "transport.dtmf.sent",
  "transport.ringing",
  "transport.answered",
  "transport.failed",
]);

/** Upstream's cap on `session.input` (prior context). */
export const MAX_INPUT_ITEMS = 128;

const CREATE_KEYS = allKeys<LiveCreateParams>()(["session", "transport"]);
const TRANSPORT_KEYS = allKeys<LiveCreateParams.Transport>()(["sdp", "type"]);
const SESSION_KEYS = allKeys<MediaSessionConfig>()([
  "model",
  "audio",
  "client",
  "delegation",
  "input",
  "instructions",
  "safety_identifier",
  "store",
  "triggers",
]);
const AUDIO_KEYS = allKeys<MediaSessionConfig.Audio>()(["output"]);
const OUTPUT_KEYS = allKeys<MediaSessionConfig.Audio.Output>()(["voice"]);
const CLIENT_KEYS = allKeys<ClientConfig>()(["data_channel"]);
const DATA_CHANNEL_KEYS = allKeys<DataChannelConfig>()([
  "allowed_client_events",
  "allowed_server_events",
]);
const SELECTOR_KEYS = allKeys<ServerEventSelector>()(["type", "response_event"]);
const DELEGATION_TYPES = ["client", "responses", "decisions"] as const;
const INPUT_ROLES = ["developer", "user", "assistant"] as const;

/** A validated create request. */
export interface LiveCreateRequest {
  session: MediaSessionConfig;
  sdp: string;
}

/** Validates the body of `POST /v1/live/sessions`; the first problem, with upstream's codes and paths. */
export function parseLiveCreateRequest(body: unknown): Result<LiveCreateRequest> {
  const b = body as v.JsonObject;
  const problem =
    v.object(body, "", CREATE_KEYS, ["session", "transport"]) ??
    checkTransport(b.transport) ??
    checkSession(b.session);
  if (problem) return fail(problem);
  const transport = b.transport as LiveCreateParams.Transport;
  return ok({ session: b.session as MediaSessionConfig, sdp: transport.sdp });
}

function checkTransport(value: unknown): v.Check {
  const t = value as v.JsonObject;
  return (
    v.object(value, "transport", TRANSPORT_KEYS, ["type", "sdp"]) ??
    v.oneOf(t.type, "transport.type", ["webrtc"]) ??
    v.string(t.sdp, "transport.sdp")
  );
}

function checkSession(value: unknown): v.Check {
  const s = value as v.JsonObject;
  return (
    v.object(value, "session", SESSION_KEYS, ["model"]) ??
    checkModel(s.model) ??
    v.optional(s.instructions, (x) =>
      x === null ? undefined : v.string(x, "session.instructions"),
    ) ??
    v.optional(s.safety_identifier, (x) =>
      x === null ? undefined : v.string(x, "session.safety_identifier"),
    ) ??
    v.optional(s.store, (x) => v.boolean(x, "session.store")) ??
    v.optional(s.audio, checkAudio) ??
    v.optional(s.client, checkClient) ??
    v.optional(s.delegation, (x) => (x === null ? undefined : checkDelegation(x))) ??
    v.optional(s.input, checkInput) ??
    v.optional(s.triggers, (x) => v.array(x, "session.triggers", anObject))
  );
}

function anObject(value: unknown, path: string): v.Check {
  return v.isObject(value) ? undefined : errors.invalidType(path, "an object", value);
}

function checkModel(value: unknown): v.Check {
  if (typeof value !== "string") return errors.invalidType("session.model", "a string", value);
  if (LIVE_MODELS.includes(value)) return undefined;
  // Upstream answers a model it does not serve on this API (a Realtime model, a typo) so.
  return errors.invalidRequest(
    `The model '${value}' does not exist or is not a Live model. Supported models are: ${LIVE_MODELS.map((m) => `'${m}'`).join(", ")}.`,
    "invalid_model",
    "session.model",
  );
}

function checkAudio(value: unknown): v.Check {
  const output = (value as v.JsonObject).output;
  return (
    v.object(value, "session.audio", AUDIO_KEYS) ??
    v.optional(output, (o) => {
      const voice = (o as v.JsonObject).voice;
      return (
        v.object(o, "session.audio.output", OUTPUT_KEYS) ??
        v.optional(voice, (x) =>
          v.isObject(x)
            ? (v.object(x, "session.audio.output.voice", ["id"], ["id"]) ??
              v.string(x.id, "session.audio.output.voice.id"))
            : v.oneOf(x, "session.audio.output.voice", LIVE_VOICES),
        )
      );
    })
  );
}

function checkClient(value: unknown): v.Check {
  const channel = (value as v.JsonObject).data_channel;
  const path = "session.client.data_channel";
  const c = channel as v.JsonObject;
  return (
    v.object(value, "session.client", CLIENT_KEYS, ["data_channel"]) ??
    v.object(channel, path, DATA_CHANNEL_KEYS) ??
    v.optional(c.allowed_client_events, (x) =>
      x === "all"
        ? undefined
        : v.array(x, `${path}.allowed_client_events`, (e, p) => v.oneOf(e, p, LIVE_CLIENT_EVENTS)),
    ) ??
    v.optional(c.allowed_server_events, (x) =>
      x === "all" ? undefined : v.array(x, `${path}.allowed_server_events`, checkSelector),
    )
  );
}

function checkSelector(value: unknown, path: string): v.Check {
  const s = value as v.JsonObject;
  const problem =
    v.object(value, path, SELECTOR_KEYS, ["type"]) ??
    v.oneOf(s.type, v.join(path, "type"), LIVE_SERVER_EVENTS);
  if (problem) return problem;
  if (s.type === "response.event")
    return (
      v.requireKeys(s, path, ["response_event"]) ??
      v.string(s.response_event, v.join(path, "response_event"))
    );
  return s.response_event === undefined
    ? undefined
    : errors.unsupported(
        v.join(path, "response_event"),
        `'response_event' is only allowed when 'type' is 'response.event'.`,
      );
}

function checkDelegation(value: unknown): v.Check {
  const d = value as v.JsonObject;
  const problem =
    anObject(value, "session.delegation") ??
    v.requireKeys(d, "session.delegation", ["type"]) ??
    v.oneOf(d.type, "session.delegation.type", DELEGATION_TYPES) ??
    v.optional(d.acknowledgement_delay_ms, (x) =>
      v.integer(x, "session.delegation.acknowledgement_delay_ms", 0),
    );
  if (problem) return problem;
  if (d.type === "client")
    return v.unknownKeys(d, "session.delegation", ["type", "acknowledgement_delay_ms"]);
  const own = d.type as "responses" | "decisions";
  return (
    v.unknownKeys(d, "session.delegation", ["type", "acknowledgement_delay_ms", own]) ??
    v.requireKeys(d, "session.delegation", [own]) ??
    (v.isObject(d[own])
      ? own === "responses"
        ? v.string((d[own] as v.JsonObject).model, "session.delegation.responses.model")
        : undefined
      : errors.invalidType(`session.delegation.${own}`, "an object", d[own]))
  );
}

function checkInput(value: unknown): v.Check {
  if (Array.isArray(value) && value.length > MAX_INPUT_ITEMS)
    return errors.invalidRequest(
      `Invalid 'session.input': array too long. Expected an array with maximum length ${MAX_INPUT_ITEMS}, but got an array with length ${value.length} instead.`,
      "array_above_max_length",
      "session.input",
    );
  return v.array(value, "session.input", (item, path) => {
    const i = item as v.JsonObject;
    return (
      v.object(item, path, ["content", "role", "id", "status", "type"], ["content", "role"]) ??
      v.oneOf(i.role, v.join(path, "role"), INPUT_ROLES) ??
      v.optional(i.type, (x) => v.oneOf(x, v.join(path, "type"), ["message"])) ??
      v.array(
        i.content,
        v.join(path, "content"),
        (part, p) =>
          v.object(part, p, ["text", "type"], ["text"]) ??
          v.string((part as v.JsonObject).text, v.join(p, "text")),
      )
    );
  });
}

/**
 * The session as `session.started` reports it: the request with upstream's defaults filled
 * (voice `marin`, `store: false`, client delegation, every event allowed).
 */
export function resolveLiveSession(
  config: MediaSessionConfig,
  meta: { id: string; expiresAt: number },
): SessionResource {
  return {
    id: meta.id,
    expires_at: meta.expiresAt,
    model: config.model,
    status: "active",
    audio: { output: { voice: config.audio?.output?.voice ?? DEFAULT_LIVE_VOICE } },
    client: {
      data_channel: {
        allowed_client_events: config.client?.data_channel.allowed_client_events ?? "all",
        allowed_server_events: config.client?.data_channel.allowed_server_events ?? "all",
      },
    },
    delegation: config.delegation ?? { type: "client" },
    input: config.input ?? [],
    instructions: config.instructions ?? null,
    safety_identifier: config.safety_identifier ?? null,
    store: config.store ?? false,
    triggers: config.triggers ?? [],
  };
}

/**
 * A runtime check of Live server events against the installed `openai` Live types: for each
 * event type the stand-in sends, its required and allowed keys, both lists checked against
 * the SDK's interfaces at compile time (an SDK that adds or drops a field fails `typecheck`).
 */
import type {
  CommentaryAppendedEvent,
  ErrorEvent,
  InfoEvent,
  InputAudioMutedEvent,
  InputAudioUnmutedEvent,
  InputTranscriptDeltaEvent,
  InstructionsAppendedEvent,
  OutputTranscriptDeltaEvent,
  ResponseEvent,
  ServerEvent,
  SessionClosedEvent,
  SessionResource,
  SessionStartedEvent,
  SessionUpdatedEvent,
  SessionUsageUpdatedEvent,
  ThinkingAppendedEvent,
} from "openai/resources/live/live";
import { allKeys } from "../../src/type-utils.js";

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T] &
  string;

/** Lists exactly the required keys of `T`, checked at compile time in both directions. */
function requiredKeys<T>() {
  return <const K extends readonly RequiredKeys<T>[]>(
    keys: K &
      ([Exclude<RequiredKeys<T>, K[number]>] extends [never]
        ? unknown
        : { missingKeys: Exclude<RequiredKeys<T>, K[number]> }),
  ): readonly string[] => keys;
}

interface Shape {
  required: readonly string[];
  allowed: readonly string[];
}

const shape = (required: readonly string[], allowed: readonly string[]): Shape => ({
  required,
  allowed,
});

const TIMED = ["event_id", "type", "start_ms", "end_ms"] as const;

/** The server events the stand-in sends. */
const SHAPES: Partial<Record<ServerEvent["type"], Shape>> = {
  "session.started": shape(
    requiredKeys<SessionStartedEvent>()(["event_id", "session", "type"]),
    allKeys<SessionStartedEvent>()(["event_id", "session", "type", "client_event_id"]),
  ),
  "session.updated": shape(
    requiredKeys<SessionUpdatedEvent>()(["event_id", "session", "type"]),
    allKeys<SessionUpdatedEvent>()(["event_id", "session", "type", "client_event_id"]),
  ),
  "session.input_audio.muted": shape(
    requiredKeys<InputAudioMutedEvent>()(["event_id", "type"]),
    allKeys<InputAudioMutedEvent>()(["event_id", "type", "client_event_id"]),
  ),
  "session.input_audio.unmuted": shape(
    requiredKeys<InputAudioUnmutedEvent>()(["event_id", "type"]),
    allKeys<InputAudioUnmutedEvent>()(["event_id", "type", "client_event_id"]),
  ),
  "session.instructions.appended": shape(
    requiredKeys<InstructionsAppendedEvent>()(TIMED),
    allKeys<InstructionsAppendedEvent>()([...TIMED, "client_event_id"]),
  ),
  "session.thinking.appended": shape(
    requiredKeys<ThinkingAppendedEvent>()(TIMED),
    allKeys<ThinkingAppendedEvent>()([...TIMED, "client_event_id"]),
  ),
  "session.commentary.appended": shape(
    requiredKeys<CommentaryAppendedEvent>()(TIMED),
    allKeys<CommentaryAppendedEvent>()([...TIMED, "client_event_id"]),
  ),
  "session.input_transcript.delta": shape(
    requiredKeys<InputTranscriptDeltaEvent>()([...TIMED, "delta"]),
    allKeys<InputTranscriptDeltaEvent>()([...TIMED, "delta", "client_event_id"]),
  ),
  "session.output_transcript.delta": shape(
    requiredKeys<OutputTranscriptDeltaEvent>()([...TIMED, "delta"]),
    allKeys<OutputTranscriptDeltaEvent>()([...TIMED, "delta", "client_event_id"]),
  ),
  "response.event": shape(
    requiredKeys<ResponseEvent>()(["event", "event_id", "type"]),
    allKeys<ResponseEvent>()(["event", "event_id", "type", "client_event_id", "delegation_id"]),
  ),
  "session.usage.updated": shape(
    requiredKeys<SessionUsageUpdatedEvent>()(["event_id", "type", "usage"]),
    allKeys<SessionUsageUpdatedEvent>()([
      "event_id",
      "type",
      "usage",
      "client_event_id",
      "context_window",
    ]),
  ),
  "session.closed": shape(
    requiredKeys<SessionClosedEvent>()(["event_id", "reason", "session", "type", "usage"]),
    allKeys<SessionClosedEvent>()([
      "event_id",
      "reason",
      "session",
      "type",
      "usage",
      "client_event_id",
    ]),
  ),
  error: shape(
    requiredKeys<ErrorEvent>()(["error", "event_id", "type"]),
    allKeys<ErrorEvent>()(["error", "event_id", "type", "client_event_id"]),
  ),
  info: shape(
    requiredKeys<InfoEvent>()(["code", "event_id", "message", "type"]),
    allKeys<InfoEvent>()(["code", "event_id", "message", "type", "client_event_id"]),
  ),
};

const SESSION = shape(
  requiredKeys<SessionResource>()(["id", "expires_at", "model", "status"]),
  allKeys<SessionResource>()([
    "id",
    "expires_at",
    "model",
    "status",
    "audio",
    "client",
    "delegation",
    "input",
    "instructions",
    "safety_identifier",
    "store",
    "triggers",
  ]),
);
const CLOSE_REASONS: readonly string[] = [
  "close_requested",
  "expired",
  "content",
  "remote_hangup",
  "connection_lost",
] satisfies SessionClosedEvent["reason"][];

function checkKeys(value: unknown, s: Shape, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null) throw new Error(`${what}: not an object`);
  const obj = value as Record<string, unknown>;
  const missing = s.required.filter((k) => obj[k] === undefined);
  const extra = Object.keys(obj).filter((k) => !s.allowed.includes(k));
  if (missing.length || extra.length)
    throw new Error(`${what}: missing [${missing.join(", ")}], unknown [${extra.join(", ")}]`);
  return obj;
}

/** Throws unless `value` is one of the Live server events the stand-in sends, in the SDK's shape. */
export function checkLiveServerEvent(value: unknown): ServerEvent {
  const type = (value as { type?: unknown } | null)?.type;
  const s = typeof type === "string" ? SHAPES[type as ServerEvent["type"]] : undefined;
  if (!s) throw new Error(`not a Live server event the stand-in sends: ${JSON.stringify(value)}`);
  const event = checkKeys(value, s, String(type));
  if (typeof event.event_id !== "string") throw new Error(`${String(type)}: event_id`);
  if ("session" in event) checkKeys(event.session, SESSION, `${String(type)}.session`);
  if ("usage" in event) {
    const usage = checkKeys(event.usage, { required: ["seconds"], allowed: ["seconds"] }, "usage");
    if (typeof usage.seconds !== "number") throw new Error("usage.seconds is not a number");
  }
  if (type === "session.closed" && !CLOSE_REASONS.includes(event.reason as string))
    throw new Error(`session.closed: reason ${String(event.reason)}`);
  if (type === "error")
    checkKeys(
      event.error,
      shape(
        requiredKeys<ErrorEvent["error"]>()(["code", "message", "type"]),
        allKeys<ErrorEvent["error"]>()(["code", "message", "type", "client_event_id", "param"]),
      ),
      "error.error",
    );
  return value as ServerEvent;
}

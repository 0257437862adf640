/**
 * The boundary every data-channel vocabulary reads its server events through: text, JSON, a
 * `type`, then that type's schema. Never throws; each vocabulary (OpenAI Realtime's, GPT-Live's)
 * supplies only its schemas.
 */
import * as v from "valibot";
import { isRecord, messageOf } from "../errors";

/**
 * The result of reading one data-channel message:
 * - `event`: a server event the protocol acts on, its fields checked;
 * - `unknown`: a well-formed event of a type it does not act on (a newer server's, or one it
 *   ignores): nothing to do, nothing wrong;
 * - `invalid`: not an event, or an event of a known type whose fields do not check.
 */
export type ChannelParseResult<Event> =
  | { ok: true; kind: "event"; event: Event }
  | { ok: true; kind: "unknown"; type: string }
  | { ok: false; kind: "invalid"; message: string; raw: unknown };

/** Reads one data-channel message with `schemaOf`'s schema for its type, without throwing. */
export function parseChannelEvent<Event>(
  data: unknown,
  schemaOf: (type: string) => v.GenericSchema<unknown, Event> | undefined,
): ChannelParseResult<Event> {
  if (typeof data !== "string") {
    return invalid("Expected a text message on the event channel.", data);
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return invalid("A message on the event channel is not JSON.", data);
  }
  if (!isRecord(json) || typeof json.type !== "string" || json.type === "") {
    return invalid("A message on the event channel has no event type.", json);
  }
  const schema = schemaOf(json.type);
  if (!schema) return { ok: true, kind: "unknown", type: json.type };
  const result = v.safeParse(schema, json);
  if (result.success) return { ok: true, kind: "event", event: result.output };
  const [issue] = result.issues;
  const path = v.getDotPath(issue) ?? "the event";
  return invalid(`A ${json.type} event does not check at ${path}: ${issue.message}`, json);
}

function invalid(
  message: string,
  raw: unknown,
): { ok: false; kind: "invalid"; message: string; raw: unknown } {
  return { ok: false, kind: "invalid", message, raw };
}

/** A message the vocabulary could not read or handle (`SessionProblem`'s `protocol` kind). */
export interface ChannelProblem {
  source: "protocol";
  message: string;
  raw: unknown;
}

/** Where a protocol's received events go besides its own handler. */
export interface ChannelEventHost<Event> {
  problem(problem: ChannelProblem): void;
  /** Every checked event, once handled. */
  server(event: Event): void;
}

/**
 * One received message through a vocabulary: `parse` reads it, `handle` acts on a checked
 * event, and `host.server` hears it after. An unreadable message is a problem; a type the
 * vocabulary does not act on (a newer server's, or one nobody here needs) is nothing.
 */
export function receiveChannelEvent<Event extends { type: string }>(
  data: unknown,
  parse: (data: unknown) => ChannelParseResult<Event>,
  handle: (event: Event) => void,
  host: ChannelEventHost<Event>,
): void {
  const parsed = parse(data);
  if (parsed.kind === "invalid") {
    host.problem({ source: "protocol", message: parsed.message, raw: parsed.raw });
    return;
  }
  if (parsed.kind === "unknown") return;
  try {
    handle(parsed.event);
  } catch (error) {
    // A unit that throws on a checked event must not take the session down with it.
    host.problem({
      source: "protocol",
      message: `Could not handle ${parsed.event.type}: ${messageOf(error)}`,
      raw: parsed.event,
    });
  }
  host.server(parsed.event);
}

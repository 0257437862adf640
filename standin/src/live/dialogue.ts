/**
 * One Live session's vocabulary: client commands from the data channel or a sideband,
 * `allowed_client_events` enforcement, usage seconds and the close. Speech (turn detection,
 * the scripted answer and its audio) is the Realtime conversation's, translated into Live's
 * transcript events: a Live session differs in vocabulary, not in media. Pure: no I/O, no
 * clock; times are milliseconds on the session's timeline, passed in.
 */
import type {
  ErrorEvent,
  InfoEvent,
  ServerEvent,
  SessionClosedEvent,
  SessionResource,
  SessionUpdateConfig,
} from "openai/resources/live/live";
import { errorBody, errors, type ApiError } from "../api-errors.js";
import { Conversation } from "../conversation.js";
import type { Effect } from "../effects.js";
import type { NewId } from "../ids.js";
import { resolveSession } from "../session.js";
import * as v from "../validate.js";
import { LIVE_CLIENT_EVENTS } from "./config.js";

/** Where a command came from: the untrusted page, or the server's trusted sideband. */
export type CommandSource = "data_channel" | "sideband";

/** Why a Live session closed, as `session.closed` says. */
export type LiveCloseReason = SessionClosedEvent["reason"];

/** What the wiring must do on the session's behalf. */
export type LiveOut =
  /** To every sideband, and to the data channel when `allowed_server_events` lets it through. */
  | { kind: "emit"; event: ServerEvent }
  /** An answer to one command (its error): only to where the command came from. */
  | { kind: "reply"; event: ServerEvent }
  | { kind: "media"; effect: Extract<Effect, { kind: "audio.start" | "audio.stop" }> }
  /** `session.closed` has been emitted: close the sidebands and the peer. */
  | { kind: "close"; reason: LiveCloseReason };

/** Text a command appended to the session, as the inspection API records it. */
export interface Appended {
  type: "instructions" | "thinking" | "commentary";
  content: string;
  delegationId: string | null;
  source: CommandSource;
}

export interface LiveDialogueOptions {
  session: SessionResource;
  newId: NewId;
  /** Length of each scripted spoken answer. */
  responseAudioMs: number;
}

/** The transcription model the inner Realtime conversation uses to produce user transcripts. */
const INNER_TRANSCRIPTION = "gpt-4o-mini-transcribe" as const;
const UNSUPPORTED = new Set<string>([
  "session.output_audio.fixture.play",
  "decision.create",
  "decision.item.create",
  "decision.item.delete",
]);

/** One Live session's events. Feed it commands, mic packets, audio progress and the clock. */
export class LiveDialogue {
  private session: SessionResource;
  private readonly newId: NewId;
  private readonly conversation: Conversation;
  private muted = false;
  private closedReason: LiveCloseReason | null = null;
  private readonly appendedText: Appended[] = [];
  private readonly responseItems: unknown[] = [];
  private readonly refusedTypes: string[] = [];
  private usageSeconds = 0;

  constructor(options: LiveDialogueOptions) {
    this.session = options.session;
    this.newId = options.newId;
    const voice = options.session.audio?.output?.voice;
    this.conversation = new Conversation({
      session: resolveSession(
        {
          type: "realtime",
          instructions: options.session.instructions ?? undefined,
          audio: {
            input: { transcription: { model: INNER_TRANSCRIPTION } },
            output: { voice: typeof voice === "string" ? voice : undefined },
          },
        },
        { id: options.session.id, expiresAt: options.session.expires_at },
      ),
      newId: options.newId,
      responseAudioMs: options.responseAudioMs,
    });
  }

  /** The session as `session.started`/`session.updated` last reported it. */
  get currentSession(): SessionResource {
    return this.session;
  }

  get isMuted(): boolean {
    return this.muted;
  }

  get closed(): LiveCloseReason | null {
    return this.closedReason;
  }

  /** Instructions, thinking and commentary appended so far, in order. */
  get appended(): Appended[] {
    return this.appendedText.map((a) => ({ ...a }));
  }

  /** Data-channel events `allowed_client_events` refused, in order. */
  get refused(): string[] {
    return [...this.refusedTypes];
  }

  /** Items `response.item.create` added to the Responses backend. */
  get items(): unknown[] {
    return structuredClone(this.responseItems);
  }

  /** The greeting once the data channel opens; `info` when the page's events are limited. */
  start(): LiveOut[] {
    const out: LiveOut[] = [
      this.emit({ type: "session.started", event_id: this.eventId(), session: this.session }),
    ];
    const channel = this.session.client?.data_channel;
    if (channel?.allowed_client_events !== "all" || channel.allowed_server_events !== "all")
      out.push({
        kind: "reply",
        event: {
          type: "info",
          event_id: this.eventId(),
          code: "data_channel_permissions",
          message: "This data channel may send and receive only the events the session allows.",
        } satisfies InfoEvent,
      });
    return out;
  }

  /** Whether `event` may go to the page's data channel (`allowed_server_events`). */
  allowsOnDataChannel(event: ServerEvent): boolean {
    const allowed = this.session.client?.data_channel.allowed_server_events ?? "all";
    if (allowed === "all") return true;
    return allowed.some(
      (s) =>
        s.type === event.type &&
        (event.type !== "response.event" || s.response_event === event.event.type),
    );
  }

  /** One command; `type` is what the inspection API records (`(invalid)` when unreadable). */
  command(
    raw: string | Buffer,
    source: CommandSource,
    nowMs: number,
  ): { type: string; out: LiveOut[] } {
    let data: unknown;
    try {
      data = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"));
    } catch {
      return {
        type: "(invalid)",
        out: [
          this.error(
            errors.invalidRequest(
              "The server failed to parse the event as JSON. Events must be JSON text messages.",
              "invalid_json",
              null,
            ),
            undefined,
          ),
        ],
      };
    }
    if (!v.isObject(data))
      return { type: "(invalid)", out: [this.error(errors.invalidType("", "an object", data))] };
    const clientEventId = typeof data.event_id === "string" ? data.event_id : undefined;
    const type = typeof data.type === "string" ? data.type : "(invalid)";
    if (this.closedReason) return { type, out: [] };
    const problem =
      v.requireKeys(data, "", ["type"]) ??
      v.oneOf(data.type, "type", LIVE_CLIENT_EVENTS) ??
      v.optional(data.event_id, (x) => (x === null ? undefined : v.string(x, "event_id")));
    if (problem) return { type, out: [this.error(problem, clientEventId)] };
    if (source === "data_channel" && !this.allowsFromDataChannel(type)) {
      this.refusedTypes.push(type);
      return {
        type,
        out: [
          this.error(
            errors.invalidRequest(
              `The client event '${type}' is not allowed on this data channel (session.client.data_channel.allowed_client_events).`,
              "client_event_not_allowed",
              "type",
            ),
            clientEventId,
          ),
        ],
      };
    }
    return { type, out: this.dispatch(data, type, source, nowMs, clientEventId) };
  }

  private allowsFromDataChannel(type: string): boolean {
    const allowed = this.session.client?.data_channel.allowed_client_events ?? "all";
    return allowed === "all" || allowed.includes(type);
  }

  private dispatch(
    e: v.JsonObject,
    type: string,
    source: CommandSource,
    nowMs: number,
    clientEventId: string | undefined,
  ): LiveOut[] {
    const ids = {
      event_id: this.eventId(),
      ...(clientEventId ? { client_event_id: clientEventId } : {}),
    };
    const fields = (own: string[], required: string[] = own) =>
      v.unknownKeys(e, "", ["type", "event_id", ...own]) ?? v.requireKeys(e, "", required);
    if (UNSUPPORTED.has(type))
      return [
        this.error(
          errors.unsupported("type", `The stand-in does not emulate '${type}'.`),
          clientEventId,
        ),
      ];
    switch (type) {
      case "session.start":
        return [
          this.error(
            errors.invalidRequest(
              "The session has already started. Do not send session.start on a WebRTC session or a sideband.",
              "session_already_started",
              "type",
            ),
            clientEventId,
          ),
        ];
      case "session.input_audio.append":
        return [
          this.error(
            errors.unsupported(
              "type",
              "session.input_audio.append is for primary WebSockets only; WebRTC sends audio on its track.",
            ),
            clientEventId,
          ),
        ];
      case "session.update": {
        const problem = fields(["session"]) ?? this.checkUpdate(e.session);
        if (problem) return [this.error(problem, clientEventId)];
        const update = e.session as SessionUpdateConfig;
        this.session = {
          ...this.session,
          ...(update.delegation !== undefined
            ? {
                delegation:
                  update.delegation === null
                    ? null
                    : ({
                        ...this.session.delegation,
                        ...update.delegation,
                      } as SessionResource["delegation"]),
              }
            : {}),
          ...(update.triggers !== undefined ? { triggers: update.triggers } : {}),
        };
        return [this.emit({ type: "session.updated", ...ids, session: this.session })];
      }
      case "session.input_audio.mute":
      case "session.input_audio.unmute": {
        const problem = fields([]);
        if (problem) return [this.error(problem, clientEventId)];
        this.muted = type === "session.input_audio.mute";
        return [
          this.emit(
            this.muted
              ? { type: "session.input_audio.muted", ...ids }
              : { type: "session.input_audio.unmuted", ...ids },
          ),
        ];
      }
      case "session.instructions.append":
      case "session.thinking.append":
      case "session.commentary.append": {
        const problem =
          fields(["content", "delegation_id"]) ??
          v.string(e.content, "content") ??
          (e.delegation_id === null ? undefined : v.string(e.delegation_id, "delegation_id"));
        if (problem) return [this.error(problem, clientEventId)];
        const kind = type.split(".")[1] as Appended["type"];
        this.appendedText.push({
          type: kind,
          content: e.content as string,
          delegationId: e.delegation_id as string | null,
          source,
        });
        const at = { ...ids, start_ms: nowMs, end_ms: nowMs };
        return [
          this.emit(
            kind === "instructions"
              ? { type: "session.instructions.appended", ...at }
              : kind === "thinking"
                ? { type: "session.thinking.appended", ...at }
                : { type: "session.commentary.appended", ...at },
          ),
        ];
      }
      case "response.item.create":
      case "response.create": {
        const problem =
          (type === "response.create" ? fields([]) : fields(["item"])) ??
          (this.session.delegation?.type === "responses"
            ? undefined
            : errors.invalidRequest(
                `${type} requires Responses delegation (session.delegation.type 'responses').`,
                "delegation_required",
                "type",
              ));
        if (problem) return [this.error(problem, clientEventId)];
        if (type === "response.item.create") {
          this.responseItems.push(e.item);
          return [];
        }
        return this.respond(ids);
      }
      case "session.close": {
        const problem = fields([]);
        if (problem) return [this.error(problem, clientEventId)];
        return this.close("close_requested", nowMs, clientEventId);
      }
    }
    return [];
  }

  private checkUpdate(value: unknown): ApiError | undefined {
    const u = value as v.JsonObject;
    if (!v.isObject(value)) return errors.invalidType("session", "an object", value);
    const immutable = Object.keys(u).find((k) => k !== "delegation" && k !== "triggers");
    if (immutable)
      return errors.invalidRequest(
        `Unknown parameter: 'session.${immutable}'. A Live session.update may change only 'delegation' and 'triggers'; model, instructions, audio and input are fixed at startup.`,
        "unknown_parameter",
        `session.${immutable}`,
      );
    const delegation = u.delegation;
    if (delegation === undefined || delegation === null) return undefined;
    if (!v.isObject(delegation))
      return errors.invalidType("session.delegation", "an object", delegation);
    const current = this.session.delegation?.type ?? "client";
    return delegation.type === current
      ? undefined
      : errors.invalidRequest(
          `The delegation type cannot change (it is '${current}').`,
          "invalid_value",
          "session.delegation.type",
        );
  }

  /** A Responses backend answer, wrapped in `response.event` as upstream streams it. */
  private respond(ids: { event_id: string; client_event_id?: string }): LiveOut[] {
    const id = this.newId("resp");
    const text = "This is the stand-in's Responses backend.";
    const wrap = (event: Record<string, unknown>, first = false): LiveOut =>
      this.emit({
        type: "response.event",
        ...(first ? ids : { event_id: this.eventId() }),
        delegation_id: null,
        event,
      });
    const response = { id, object: "response", status: "in_progress", output: [] };
    return [
      wrap({ type: "response.created", sequence_number: 0, response }, true),
      wrap({ type: "response.output_text.delta", sequence_number: 1, delta: text }),
      wrap({
        type: "response.completed",
        sequence_number: 2,
        response: { ...response, status: "completed" },
      }),
    ];
  }

  /** One mic RTP packet. Muted input reaches the model as silence (and still bills). */
  micPacket(payloadBytes: number, nowMs: number): LiveOut[] {
    if (this.closedReason) return [];
    return this.translate(this.conversation.micPacket(this.muted ? 0 : payloadBytes), nowMs);
  }

  audioProgress(responseId: string, sentMs: number, nowMs: number): LiveOut[] {
    if (this.closedReason) return [];
    return this.translate(this.conversation.audioProgress(responseId, sentMs), nowMs);
  }

  audioFinished(responseId: string, nowMs: number): LiveOut[] {
    if (this.closedReason) return [];
    return this.translate(this.conversation.audioFinished(responseId), nowMs);
  }

  /** Usage so far: whole session seconds to the tenth, cumulative (upstream bills per second). */
  usage(nowMs: number): LiveOut[] {
    if (this.closedReason) return [];
    return [
      this.emit({
        type: "session.usage.updated",
        event_id: this.eventId(),
        usage: { seconds: this.seconds(nowMs) },
      }),
    ];
  }

  /** Ends the session once: `session.closed` with the reason and the final usage, then close. */
  close(reason: LiveCloseReason, nowMs: number, clientEventId?: string): LiveOut[] {
    if (this.closedReason) return [];
    this.closedReason = reason;
    return [
      this.emit({
        type: "session.closed",
        event_id: this.eventId(),
        ...(clientEventId ? { client_event_id: clientEventId } : {}),
        reason,
        session: this.session,
        usage: { seconds: this.seconds(nowMs) },
      } satisfies SessionClosedEvent),
      { kind: "close", reason },
    ];
  }

  private seconds(nowMs: number): number {
    // Cumulative: never lower than a total already reported.
    this.usageSeconds = Math.max(this.usageSeconds, Math.round(nowMs / 100) / 10);
    return this.usageSeconds;
  }

  /** The Realtime conversation's output in Live's words; the rest stays inside. */
  private translate(effects: Effect[], nowMs: number): LiveOut[] {
    const out: LiveOut[] = [];
    for (const effect of effects) {
      if (effect.kind !== "send") {
        out.push({ kind: "media", effect });
        continue;
      }
      const event = effect.event;
      if (event.type === "conversation.item.input_audio_transcription.completed") {
        const spokenMs =
          event.usage?.type === "duration" ? Math.round(event.usage.seconds * 1000) : 0;
        out.push(
          this.emit({
            type: "session.input_transcript.delta",
            event_id: this.eventId(),
            delta: event.transcript,
            start_ms: Math.max(0, nowMs - spokenMs),
            end_ms: nowMs,
          }),
        );
      } else if (event.type === "response.output_audio_transcript.delta")
        out.push(
          this.emit({
            type: "session.output_transcript.delta",
            event_id: this.eventId(),
            delta: event.delta,
            start_ms: nowMs,
            end_ms: nowMs,
          }),
        );
    }
    return out;
  }

  private emit(event: ServerEvent): LiveOut {
    return { kind: "emit", event: structuredClone(event) };
  }

  private error(problem: ApiError, clientEventId?: string): LiveOut {
    const body = errorBody(problem);
    return {
      kind: "reply",
      event: {
        type: "error",
        event_id: this.eventId(),
        ...(clientEventId ? { client_event_id: clientEventId } : {}),
        error: {
          type: body.type,
          code: body.code ?? "invalid_request",
          message: body.message,
          ...(body.param ? { param: body.param } : {}),
          ...(clientEventId ? { client_event_id: clientEventId } : {}),
        },
      } satisfies ErrorEvent,
    };
  }

  private eventId(): string {
    return this.newId("event");
  }
}

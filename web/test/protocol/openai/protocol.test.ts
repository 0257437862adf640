import { describe, expect, it } from "vitest";
import { ConversationLog } from "../../../src/realtime/conversation";
import { ResponseTracker } from "../../../src/realtime/playback";
import type { OpenAIServerEvent } from "../../../src/realtime/protocol/openai/parse";
import { OpenAIRealtimeProtocol } from "../../../src/realtime/protocol/openai/protocol";
import { ToolRunner } from "../../../src/realtime/tools";
import type {
  CloseReason,
  ConversationEntry,
  SessionProblem,
  SessionUpdate,
  SpeakingState,
} from "../../../src/realtime/types";
import { FakeClock } from "../../fakes";

/** The protocol over real units, with every hook recorded. */
function setup(options: { session?: SessionUpdate; withTool?: boolean } = {}) {
  const clock = new FakeClock();
  const changes: (readonly ConversationEntry[])[] = [];
  const log = new ConversationLog((entries) => changes.push(entries));
  const sent: unknown[] = [];
  const tools = new ToolRunner({
    tools: options.withTool
      ? [{ name: "t", description: "a tool", parameters: {}, handler: () => "ok" }]
      : [],
    log,
    send: (event) => sent.push(event),
    isClosed: () => false,
  });
  const responses = new ResponseTracker();
  const seen = {
    server: [] as OpenAIServerEvent[],
    problems: [] as SessionProblem[],
    speaking: [] as Partial<SpeakingState>[],
    lost: [] as CloseReason[],
    marks: [] as string[],
    usage: 0,
  };
  const protocol = new OpenAIRealtimeProtocol({
    log,
    tools,
    responses,
    clock,
    session: options.session,
    setSpeaking: (change) => seen.speaking.push(change),
    mark: (step) => seen.marks.push(step),
    lost: (reason) => seen.lost.push(reason),
    problem: (problem) => seen.problems.push(problem),
    server: (event) => seen.server.push(event),
    usage: () => (seen.usage += 1),
  });
  const receive = (event: Record<string, unknown>) => protocol.receive(JSON.stringify(event));
  return { protocol, log, responses, changes, sent, seen, receive };
}

describe("OpenAIRealtimeProtocol at the boundary", () => {
  it("changes nothing on garbage, wrong-typed fields or unknown types", () => {
    const t = setup();
    const before = t.log.entries;
    t.protocol.receive("{nope");
    t.protocol.receive(new Uint8Array([1, 2]));
    t.protocol.receive(JSON.stringify([{ type: "output_audio_buffer.started" }]));
    t.receive({ type: "response.output_audio_transcript.delta", item_id: 7, delta: "x" });
    t.receive({ type: "conversation.item.added", item: { type: 1 } });
    t.receive({ type: "output_audio_buffer.started", response_id: null });
    t.receive({ type: "error", error: { message: "no type" } });
    t.receive({ type: "response.done", response: null, usage: { total_tokens: 5 } });
    t.receive({ type: "session.started" });
    t.receive({ type: "session.usage.updated", usage: { seconds: 3 } });
    expect(t.log.entries).toEqual(before);
    expect(t.changes).toEqual([]);
    expect(t.seen.server).toEqual([]);
    expect(t.seen.speaking).toEqual([]);
    expect(t.seen.lost).toEqual([]);
    expect(t.seen.usage).toBe(0);
    expect(t.responses.playback).toBeNull();
    expect(t.protocol.usage.responses).toBe(0);
    // Each malformed message is one protocol problem; unknown types are none.
    expect(t.seen.problems).toHaveLength(8);
    expect(t.seen.problems.every((problem) => problem.source === "protocol")).toBe(true);
  });

  it("routes checked events to the units and reports each one", () => {
    const t = setup();
    t.receive({ type: "session.created", session: { id: "sess_1" } });
    t.receive({ type: "input_audio_buffer.speech_started" });
    t.receive({
      type: "conversation.item.added",
      item: { id: "item_u", type: "message", role: "user", content: [{ type: "input_audio" }] },
    });
    t.receive({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "item_u",
      transcript: "Hello",
    });
    t.receive({ type: "response.output_text.delta", item_id: "item_a", delta: "Hi" });
    t.receive({ type: "response.output_text.done", item_id: "item_a", text: "Hi there" });
    t.receive({ type: "response.done", response: { id: "r", usage: { total_tokens: 4 } } });
    expect(t.seen.marks).toEqual(["sessionCreated"]);
    expect(t.seen.speaking).toEqual([{ user: true }]);
    expect(t.log.entries).toMatchObject([
      { kind: "user", id: "item_u", text: "Hello", status: "done" },
      { kind: "assistant", id: "item_a", text: "Hi there", status: "done" },
    ]);
    expect(t.seen.server.map((event) => event.type)).toEqual([
      "session.created",
      "input_audio_buffer.speech_started",
      "conversation.item.added",
      "conversation.item.input_audio_transcription.completed",
      "response.output_text.delta",
      "response.output_text.done",
      "response.done",
    ]);
    expect(t.protocol.usage).toMatchObject({ responses: 1, totalTokens: 4 });
    expect(t.seen.problems).toEqual([]);
  });

  it("ends the session on a server limit and reports other errors", () => {
    const t = setup();
    t.receive({
      type: "error",
      error: { type: "invalid_request_error", code: "session_expired", message: "Too long" },
    });
    t.receive({ type: "error", error: { type: "server_error", message: "Oops", code: null } });
    expect(t.seen.lost).toEqual([{ kind: "server-limit", message: "Too long" }]);
    expect(t.seen.problems).toMatchObject([{ source: "server", error: { message: "Oops" } }]);
  });
});

describe("OpenAIRealtimeProtocol's client events", () => {
  it("opens with nothing, or with the session fields and the tools", () => {
    expect(setup().protocol.opening()).toBeNull();
    expect(
      setup({ session: { instructions: "Be brief." }, withTool: true }).protocol.opening(),
    ).toMatchObject({
      type: "session.update",
      session: { type: "realtime", instructions: "Be brief.", tools: [{ name: "t" }] },
    });
  });

  it("does not take the echo of an item it named for a new turn", () => {
    const t = setup();
    t.protocol.sending({
      type: "conversation.item.create",
      item: { id: "item_mine", type: "message", role: "user", content: [] },
    });
    t.receive({
      type: "conversation.item.added",
      item: { id: "item_mine", type: "message", role: "user", content: [{ type: "input_audio" }] },
    });
    expect(t.log.entries).toEqual([]);
  });

  it("has nothing to interrupt while no response runs", () => {
    const t = setup();
    const sent: unknown[] = [];
    expect(t.protocol.interrupt((event) => sent.push(event))).toBe(false);
    expect(sent).toEqual([]);
  });

  it("logs a typed message and returns the events that send it", () => {
    const t = setup();
    expect(t.protocol.typed("Hi").map((event) => event.type)).toEqual([
      "conversation.item.create",
      "response.create",
    ]);
    expect(t.log.entries).toMatchObject([{ kind: "user", source: "text", status: "sending" }]);
    t.protocol.close();
    expect(t.log.entries).toMatchObject([{ status: "not-delivered" }]);
  });
});

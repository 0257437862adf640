import { describe, expect, it } from "vitest";
import { parseResponseDone, parseServerEvent } from "../../../src/realtime/protocol/openai/parse";

describe("parseServerEvent", () => {
  it("reads the envelope without throwing", () => {
    expect(parseServerEvent('{"type":"session.created"}')).toMatchObject({ ok: true });
    expect(parseServerEvent("{")).toMatchObject({ ok: false });
    expect(parseServerEvent(new Uint8Array(1))).toMatchObject({ ok: false });
  });
});

describe("parseResponseDone", () => {
  it("reads what the session uses from a full response", () => {
    expect(
      parseResponseDone({
        id: "resp_1",
        status: "failed",
        status_details: { error: { type: "server_error", message: "Boom" } },
        usage: { total_tokens: 3 },
        output: [
          { type: "message", id: "item_a" },
          { type: "function_call", call_id: "call_1", name: "t", arguments: "{}" },
          { type: "function_call", name: "no call id" },
          "junk",
        ],
      }),
    ).toEqual({
      id: "resp_1",
      status: "failed",
      usage: { total_tokens: 3 },
      error: { type: "server_error", message: "Boom" },
      messageIds: ["item_a"],
      calls: [{ callId: "call_1", name: "t", arguments: "{}" }],
    });
  });

  it("survives anything else", () => {
    for (const junk of [null, 42, "x", [], { output: "no" }, { status_details: 1 }]) {
      expect(parseResponseDone(junk)).toMatchObject({ id: null, messageIds: [], calls: [] });
    }
    expect(parseResponseDone({ status: "completed", status_details: { error: {} } }).error).toBe(
      null,
    );
  });
});

describe("parseServerEvent at the boundary", () => {
  it("checks the fields the protocol reads and passes the rest through", () => {
    const result = parseServerEvent(
      JSON.stringify({
        type: "response.output_text.delta",
        event_id: "evt_1",
        response_id: "resp_1",
        item_id: "item_1",
        output_index: 0,
        content_index: 0,
        delta: "Hi",
      }),
    );
    expect(result).toEqual({
      ok: true,
      kind: "event",
      event: expect.objectContaining({ item_id: "item_1", delta: "Hi", response_id: "resp_1" }),
    });
  });

  it("turns garbage into a typed invalid result without throwing", () => {
    for (const garbage of [
      undefined,
      null,
      42,
      new ArrayBuffer(2),
      "",
      "null",
      "[]",
      '"text"',
      "[1,2]",
      '{"type":""}',
      '{"type":7}',
      "{\u0000",
    ]) {
      const result = parseServerEvent(garbage);
      expect(result.ok).toBe(false);
      expect(result).toMatchObject({ kind: "invalid", message: expect.any(String) });
    }
  });

  it("rejects a known type whose fields have the wrong type, naming the field", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "response.output_text.delta", item_id: "i", delta: 5 }, "delta"],
      [{ type: "response.output_audio_transcript.done", item_id: 1, transcript: "x" }, "item_id"],
      [{ type: "output_audio_buffer.started" }, "response_id"],
      [{ type: "error", error: "boom" }, "error"],
      [{ type: "error", error: { type: "server_error", message: null } }, "error.message"],
      [
        { type: "conversation.item.added", item: { type: "message", content: "x" } },
        "item.content",
      ],
      [{ type: "response.created", response: { id: 3 } }, "response.id"],
      [{ type: "response.done", response: "done" }, "response"],
      [
        {
          type: "response.function_call_arguments.done",
          response_id: "r",
          call_id: "c",
          name: "t",
        },
        "arguments",
      ],
    ];
    for (const [event, field] of cases) {
      const result = parseServerEvent(JSON.stringify(event));
      expect(result.ok, JSON.stringify(event)).toBe(false);
      if (result.ok) continue;
      expect(result.message).toContain(String(event.type));
      expect(result.message).toContain(field);
      expect(result.raw).toEqual(event);
    }
  });

  it("types an event it does not act on as unknown, whatever its body", () => {
    expect(parseServerEvent('{"type":"rate_limits.updated","rate_limits":"?"}')).toEqual({
      ok: true,
      kind: "unknown",
      type: "rate_limits.updated",
    });
    expect(parseServerEvent('{"type":"session.started"}')).toEqual({
      ok: true,
      kind: "unknown",
      type: "session.started",
    });
    // An inherited name is not an event type.
    expect(parseServerEvent('{"type":"toString"}')).toMatchObject({ kind: "unknown" });
  });
});

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

import { describe, expect, it } from "vitest";
import { parseClientEvent } from "../src/client-events.js";

function error(raw: string) {
  const parsed = parseClientEvent(raw);
  if (parsed.ok) throw new Error("expected an error");
  return parsed.error;
}

describe("parseClientEvent", () => {
  it("reports invalid JSON without throwing", () => {
    expect(error("{not json")).toMatchObject({
      type: "invalid_request_error",
      code: "invalid_json",
      event_id: null,
    });
    expect(parseClientEvent(Buffer.from([0xff, 0xfe])).ok).toBe(false);
  });

  it.each([
    ["[]", "invalid_type", ""],
    ['{"event_id":"e1"}', "missing_required_parameter", "type"],
    ['{"type":"response.audio.delta"}', "invalid_value", "type"],
    ['{"type":"transcription_session.update","session":{}}', "invalid_value", "type"],
    ['{"type":"conversation.item.create"}', "missing_required_parameter", "item"],
    [
      '{"type":"conversation.item.create","item":{"type":"message","role":"user"}}',
      "missing_required_parameter",
      "item.content",
    ],
    [
      '{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"output_text","text":"x"}]}}',
      "invalid_value",
      "item.content[0].type",
    ],
    [
      '{"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"c"}}',
      "missing_required_parameter",
      "item.output",
    ],
    [
      '{"type":"conversation.item.truncate","item_id":"i","content_index":0}',
      "missing_required_parameter",
      "audio_end_ms",
    ],
    [
      '{"type":"conversation.item.truncate","item_id":"i","content_index":0,"audio_end_ms":-1}',
      "integer_below_min_value",
      "audio_end_ms",
    ],
    [
      '{"type":"session.update","session":{"instructions":"x"}}',
      "missing_required_parameter",
      "session.type",
    ],
    [
      '{"type":"session.update","session":{"type":"realtime","voice":"ash"}}',
      "unknown_parameter",
      "session.voice",
    ],
    [
      '{"type":"response.create","response":{"modalities":["text"]}}',
      "unknown_parameter",
      "response.modalities",
    ],
    ['{"type":"response.cancel","extra":true}', "unknown_parameter", "extra"],
  ])("rejects %s with %s", (raw, code, param) => {
    expect(error(raw)).toMatchObject({ type: "invalid_request_error", code, param });
  });

  it("keeps the client's event_id in the error", () => {
    expect(error('{"type":"nope","event_id":"evt_9"}').event_id).toBe("evt_9");
  });

  it("accepts well-formed GA events", () => {
    for (const event of [
      { type: "session.update", session: { type: "realtime", instructions: "hi" } },
      {
        type: "conversation.item.create",
        event_id: "e",
        item: { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] },
      },
      {
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: "c", output: "{}" },
      },
      { type: "conversation.item.truncate", item_id: "i", content_index: 0, audio_end_ms: 10 },
      { type: "response.create", response: { output_modalities: ["text"], metadata: { a: "b" } } },
      { type: "response.cancel" },
      { type: "output_audio_buffer.clear" },
      { type: "input_audio_buffer.commit" },
    ])
      expect(parseClientEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });
});

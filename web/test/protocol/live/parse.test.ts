import type { ServerEvent } from "openai/resources/live/live";
import { describe, expect, it } from "vitest";
import { parseLiveServerEvent } from "../../../src/realtime/protocol/live/parse";

const session = {
  id: "sess_1",
  expires_at: 1_800_000_000,
  model: "gpt-live-1",
  status: "active",
} satisfies Extract<ServerEvent, { type: "session.started" }>["session"];

describe("parseLiveServerEvent", () => {
  it("checks the events the page acts on, typed as the openai package types them", () => {
    const events: ServerEvent[] = [
      { type: "session.started", event_id: "e1", session },
      {
        type: "session.input_transcript.delta",
        event_id: "e2",
        delta: "hi",
        start_ms: 0,
        end_ms: 1,
      },
      {
        type: "session.output_transcript.delta",
        event_id: "e3",
        delta: "yo",
        start_ms: 1,
        end_ms: 1,
      },
      { type: "session.usage.updated", event_id: "e4", usage: { seconds: 1.5 } },
      {
        type: "session.closed",
        event_id: "e5",
        reason: "close_requested",
        session,
        usage: { seconds: 2 },
      },
      {
        type: "error",
        event_id: "e6",
        error: { type: "invalid_request_error", code: "client_event_not_allowed", message: "no" },
      },
      { type: "info", event_id: "e7", code: "data_channel_permissions", message: "limited" },
      { type: "session.input_audio.muted", event_id: "e8" },
    ];
    for (const event of events) {
      expect(parseLiveServerEvent(JSON.stringify(event))).toEqual({
        ok: true,
        kind: "event",
        event,
      });
    }
  });

  it("reads a well-formed event of another type as unknown, not as a problem", () => {
    expect(parseLiveServerEvent('{"type":"response.event","event":{}}')).toEqual({
      ok: true,
      kind: "unknown",
      type: "response.event",
    });
  });

  it("never throws on junk, and says where a known event does not check", () => {
    expect(parseLiveServerEvent("{")).toMatchObject({ ok: false, kind: "invalid" });
    expect(parseLiveServerEvent(new Uint8Array(1))).toMatchObject({ ok: false });
    expect(parseLiveServerEvent('{"type":""}')).toMatchObject({ ok: false });
    expect(
      parseLiveServerEvent('{"type":"session.usage.updated","usage":{"seconds":-1}}'),
    ).toMatchObject({
      ok: false,
      message: expect.stringContaining("usage.seconds"),
    });
    expect(
      parseLiveServerEvent('{"type":"session.closed","reason":"bored","usage":{"seconds":1}}'),
    ).toMatchObject({ ok: false, message: expect.stringContaining("reason") });
  });
});

import { describe, expect, it } from "vitest";
import { parseLiveCreateRequest, resolveLiveSession } from "../../src/live/config.js";

const SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
const body = (session: object, transport: object = { type: "webrtc", sdp: SDP }) => ({
  session,
  transport,
});

function problem(input: unknown) {
  const parsed = parseLiveCreateRequest(input);
  if (parsed.ok) throw new Error("expected a problem");
  return parsed.error;
}

describe("parseLiveCreateRequest", () => {
  it("takes the session and the offer", () => {
    const session = {
      model: "gpt-live-1",
      instructions: "Be brief.",
      audio: { output: { voice: "cedar" } },
      client: {
        data_channel: {
          allowed_client_events: ["session.input_audio.mute", "session.input_audio.unmute"],
          allowed_server_events: [
            { type: "session.started" },
            { type: "response.event", response_event: "response.output_text.delta" },
          ],
        },
      },
      delegation: { type: "responses", responses: { model: "gpt-5.5" } },
      input: [{ role: "user", content: [{ text: "Hello." }] }],
      store: false,
    };
    expect(parseLiveCreateRequest(body(session))).toEqual({
      ok: true,
      value: { session, sdp: SDP },
    });
    expect(parseLiveCreateRequest(body({ model: "gpt-live-1.1" })).ok).toBe(true);
  });

  it("answers a bad body with upstream's codes and the parameter's path", () => {
    expect(problem({ transport: { type: "webrtc", sdp: SDP } })).toMatchObject({
      status: 400,
      code: "missing_required_parameter",
      param: "session",
    });
    expect(problem(body({}))).toMatchObject({
      code: "missing_required_parameter",
      param: "session.model",
    });
    expect(problem(body({ model: "gpt-live-1" }, { type: "websocket", sdp: SDP }))).toMatchObject({
      code: "invalid_value",
      param: "transport.type",
    });
    expect(problem(body({ model: "gpt-live-1" }, { type: "webrtc" }))).toMatchObject({
      code: "missing_required_parameter",
      param: "transport.sdp",
    });
    expect(problem(body({ model: "gpt-live-1", voice: "marin" }))).toMatchObject({
      code: "unknown_parameter",
      param: "session.voice",
    });
    expect(
      problem(body({ model: "gpt-live-1", audio: { output: { voice: "nobody" } } })),
    ).toMatchObject({ code: "invalid_value", param: "session.audio.output.voice" });
    expect(
      problem(
        body({
          model: "gpt-live-1",
          client: { data_channel: { allowed_client_events: ["session.input_audio.mute", "x"] } },
        }),
      ),
    ).toMatchObject({
      code: "invalid_value",
      param: "session.client.data_channel.allowed_client_events[1]",
    });
    expect(
      problem(
        body({
          model: "gpt-live-1",
          client: { data_channel: { allowed_server_events: [{ type: "response.event" }] } },
        }),
      ),
    ).toMatchObject({
      code: "missing_required_parameter",
      param: "session.client.data_channel.allowed_server_events[0].response_event",
    });
    expect(problem(body({ model: "gpt-live-1", delegation: { type: "responses" } }))).toMatchObject(
      { code: "missing_required_parameter", param: "session.delegation.responses" },
    );
    const input = Array.from({ length: 129 }, () => ({ role: "user", content: [{ text: "." }] }));
    expect(problem(body({ model: "gpt-live-1", input }))).toMatchObject({
      code: "array_above_max_length",
      param: "session.input",
    });
  });

  it("refuses a model that is not a Live model, a Realtime one included", () => {
    for (const model of ["gpt-realtime-2", "gpt-live-9"])
      expect(problem(body({ model }))).toMatchObject({
        status: 400,
        type: "invalid_request_error",
        code: "invalid_model",
        param: "session.model",
      });
  });
});

describe("resolveLiveSession", () => {
  it("fills upstream's defaults: voice marin, every event allowed, client delegation", () => {
    expect(resolveLiveSession({ model: "gpt-live-1" }, { id: "live_1", expiresAt: 100 })).toEqual({
      id: "live_1",
      expires_at: 100,
      model: "gpt-live-1",
      status: "active",
      audio: { output: { voice: "marin" } },
      client: { data_channel: { allowed_client_events: "all", allowed_server_events: "all" } },
      delegation: { type: "client" },
      input: [],
      instructions: null,
      safety_identifier: null,
      store: false,
      triggers: [],
    });
  });
});

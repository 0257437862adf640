import { describe, expect, it } from "vitest";
import { sequentialIds } from "../src/ids.js";
import { ItemStore } from "../src/items.js";
import { Responder } from "../src/responder.js";
import { resolveSession, type Session } from "../src/session.js";
import { find, types } from "./helpers/effects.js";

const AUDIO_MS = 1000;

function setup(modalities: ("audio" | "text")[] = ["audio"]) {
  const items = new ItemStore();
  const responder = new Responder({
    newId: sequentialIds(),
    conversationId: "conv_1",
    items,
    responseAudioMs: AUDIO_MS,
  });
  const session: Session = resolveSession(
    { type: "realtime", output_modalities: modalities },
    { id: "sess_1", expiresAt: 0 },
  );
  return { items, responder, session };
}

describe("Responder", () => {
  it("keeps a spoken answer active until generated and playing until played out", () => {
    const { items, responder, session } = setup();
    const started = responder.start({}, session);
    expect(types(started)).toContain("[audio.start]");
    expect(find(started, "response.created").response.conversation_id).toBe("conv_1");
    expect(responder.responding).toBe(true);
    expect(responder.hasSpoken).toBe(true);
    expect(responder.streamingItem).toBe(items.all[0]);

    // Generation runs ahead: done once 400 ms went out (200 + 2 × 400 ≥ 1000).
    expect(types(responder.audioProgress("resp_1", 400))).toContain("response.done");
    expect(responder.responding).toBe(false);
    expect(responder.streamingItem).toBe(items.all[0]);
    expect(responder.audioProgress("resp_other", 500)).toEqual([]);
    expect(types(responder.audioFinished("resp_1"))).toEqual(["output_audio_buffer.stopped"]);
    expect(responder.streamingItem).toBeUndefined();
  });

  it("refuses a second response and a cancel of another, answering the client's event", () => {
    const { responder, session } = setup();
    responder.start({}, session);
    expect(find(responder.create({}, session, "evt_1"), "error").error).toMatchObject({
      code: "conversation_already_has_active_response",
      event_id: "evt_1",
    });
    expect(find(responder.cancelRequested("resp_9", "evt_2"), "error").error).toEqual({
      type: "invalid_request_error",
      code: "response_cancel_not_active",
      message: "Cancellation failed: no active response found",
      param: null,
      event_id: "evt_2",
    });
    const cancelled = responder.cancelRequested("resp_1", null);
    expect(find(cancelled, "response.done").response.status_details).toEqual({
      type: "cancelled",
      reason: "client_cancelled",
    });
    expect(responder.responding).toBe(false);
    expect(find(responder.cancelRequested(undefined, null), "error").error.code).toBe(
      "response_cancel_not_active",
    );
  });

  it("lets speech cancel a generating answer, and clear one that only plays", () => {
    const { responder, session } = setup();
    responder.start({}, session);
    expect(types(responder.interruptBySpeech())).toEqual(
      expect.arrayContaining(["[audio.stop]", "response.done", "output_audio_buffer.cleared"]),
    );
    responder.start({}, session);
    responder.audioProgress("resp_2", 400);
    expect(types(responder.interruptBySpeech())).toEqual([
      "[audio.stop]",
      "output_audio_buffer.cleared",
    ]);
    expect(responder.interruptBySpeech()).toEqual([]);
  });

  it("clears the output buffer with nothing playing by naming the last response", () => {
    const { responder, session } = setup(["text"]);
    expect(types(responder.start({}, session))).toContain("response.done");
    expect(responder.responding).toBe(false);
    expect(responder.hasSpoken).toBe(false);
    expect(find(responder.clearOutputAudio(), "output_audio_buffer.cleared").response_id).toBe(
      "resp_1",
    );
  });

  it("answers out of band from its own input, outside the conversation", () => {
    const { items, responder, session } = setup(["text"]);
    const out = responder.start(
      {
        conversation: "none",
        input: [
          { type: "message", role: "user", content: [{ type: "input_text", text: "hi there" }] },
        ],
      },
      session,
    );
    expect(find(out, "response.created").response.conversation_id).toBeUndefined();
    expect(find(out, "response.output_text.done").text).toBe('You said: "hi there"');
    expect(items.all).toHaveLength(0);
  });
});

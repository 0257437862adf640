import { describe, expect, it } from "vitest";
import { connected, startAudioResponse } from "./harness";

describe("interrupt", () => {
  it("cancels, clears and truncates at the milliseconds played since the audio started", async () => {
    const t = await connected();
    t.clock.advance(200); // response.created arrives before the audio starts
    startAudioResponse(t, 1_000);
    expect(t.session.speaking.assistant).toBe(true);
    t.clock.advance(1_234.7);
    expect(t.session.interrupt()).toBe(true);
    expect(t.pc.channel.sentEvents).toEqual([
      { type: "response.cancel" },
      { type: "output_audio_buffer.clear" },
      {
        type: "conversation.item.truncate",
        item_id: "item_a1",
        content_index: 0,
        audio_end_ms: 1_234,
      },
    ]);
    expect(t.session.speaking.assistant).toBe(false);
    expect(t.session.conversation.find((e) => e.id === "item_a1")).toMatchObject({
      status: "interrupted",
    });
  });

  it("does not cancel a response that is already done but still playing", async () => {
    const t = await connected();
    startAudioResponse(t, 500);
    t.pc.channel.receive({
      type: "response.done",
      response: { id: "resp_1", status: "completed", output: [] },
    });
    t.clock.advance(800);
    expect(t.session.interrupt()).toBe(true);
    expect(t.pc.channel.sentEvents).toEqual([
      { type: "output_audio_buffer.clear" },
      {
        type: "conversation.item.truncate",
        item_id: "item_a1",
        content_index: 0,
        audio_end_ms: 800,
      },
    ]);
  });

  it("cancels a response whose audio has not started, without a truncate", async () => {
    const t = await connected();
    t.pc.channel.receive({ type: "response.created", response: { id: "resp_1" } });
    expect(t.session.interrupt()).toBe(true);
    expect(t.pc.channel.sentTypes).toEqual(["response.cancel", "output_audio_buffer.clear"]);
  });

  it("does nothing once the audio has stopped", async () => {
    const t = await connected();
    startAudioResponse(t, 100);
    t.pc.channel.receive({ type: "response.done", response: { id: "resp_1", output: [] } });
    t.clock.advance(3_000);
    t.pc.channel.receive({ type: "output_audio_buffer.stopped", response_id: "resp_1" });
    t.clock.advance(500);
    expect(t.session.interrupt()).toBe(false);
    expect(t.pc.channel.sent).toEqual([]);
  });

  it("never truncates past what played when the item id arrives late", async () => {
    const t = await connected();
    const ch = t.pc.channel;
    ch.receive({ type: "response.created", response: { id: "resp_2" } });
    t.clock.advance(50);
    ch.receive({ type: "output_audio_buffer.started", response_id: "resp_2" });
    t.clock.advance(300);
    ch.receive({
      type: "response.output_item.added",
      response_id: "resp_2",
      output_index: 0,
      item: { id: "item_late", type: "message", role: "assistant", content: [] },
    });
    t.clock.advance(400);
    t.session.interrupt();
    expect(ch.sentEvents.at(-1)).toEqual({
      type: "conversation.item.truncate",
      item_id: "item_late",
      content_index: 0,
      audio_end_ms: 700,
    });
  });
});

import { describe, expect, it } from "vitest";
import { playedOutMs } from "../src/realtime/playback";
import { flush } from "./fakes";
import { connected, play, playedOut, startAudioResponse } from "./harness";

/** The `audio_end_ms` the session sent, or -1 without a truncate. */
function truncatedAt(t: Awaited<ReturnType<typeof connected>>): number {
  const event = t.pc.channel.sentEvents.find((e) => e.type === "conversation.item.truncate");
  return typeof event?.audio_end_ms === "number" ? event.audio_end_ms : -1;
}

/**
 * The statistics are read every 100 ms (and each reading lands one 20 ms step of `play` late
 * here): a truncation lags what played by up to that much, and never runs ahead of it.
 */
const READING_LAG_MS = 120;
const within = (audioEnd: number, played: number) => {
  expect(audioEnd).toBeLessThanOrEqual(played);
  expect(audioEnd).toBeGreaterThanOrEqual(played - READING_LAG_MS);
};

describe("interrupt", () => {
  it("cancels, clears and truncates at the milliseconds played since the audio started", async () => {
    const t = await connected();
    t.clock.advance(200); // response.created arrives before the audio starts
    playedOut(t, 0);
    startAudioResponse(t, 1_000);
    expect(t.session.speaking.assistant).toBe(true);
    await play(t, 1_234.7);
    expect(t.session.interrupt()).toBe(true);
    expect(t.pc.channel.sentEvents).toEqual([
      { type: "response.cancel", event_id: expect.any(String) },
      { type: "output_audio_buffer.clear" },
      {
        type: "conversation.item.truncate",
        item_id: "item_a1",
        content_index: 0,
        audio_end_ms: expect.any(Number),
      },
    ]);
    within(truncatedAt(t), 1_234);
    expect(t.session.speaking.assistant).toBe(false);
    expect(t.session.conversation.find((e) => e.id === "item_a1")).toMatchObject({
      status: "interrupted",
    });
  });

  it("never claims more than the receiver played out, however long ago the audio started", async () => {
    const t = await connected();
    // An earlier answer already played 5 s: only what played since this one started counts.
    playedOut(t, 5_000);
    startAudioResponse(t, 0);
    // The audio arrives at 60% of real time (late packets, a slow network).
    const played = await play(t, 1_000, 0.6, 5_000);
    t.session.interrupt();
    expect(played - 5_000).toBe(600);
    within(truncatedAt(t), 600);
  });

  it("truncates at 0 when no audio arrived yet", async () => {
    const t = await connected();
    startAudioResponse(t, 0); // no inbound-rtp statistics: no packet has arrived
    t.clock.advance(400);
    await flush();
    t.session.interrupt();
    expect(truncatedAt(t)).toBe(0);
  });

  it("falls back to the clock where the browser does not count played-out samples", async () => {
    const t = await connected();
    playedOut(t, 0, { type: "inbound-rtp", kind: "audio", bytesReceived: 4_000 });
    startAudioResponse(t, 0);
    await flush();
    t.clock.advance(750);
    t.session.interrupt();
    expect(truncatedAt(t)).toBe(750);
  });

  it("reads the statistics only while audio plays", async () => {
    const t = await connected();
    const idle = t.clock.pendingTimers;
    playedOut(t, 0);
    startAudioResponse(t, 0);
    await play(t, 300);
    expect(t.clock.pendingTimers).toBe(idle + 1);
    t.pc.channel.receive({ type: "output_audio_buffer.stopped", response_id: "resp_1" });
    expect(t.clock.pendingTimers).toBe(idle);
    await play(t, 300);
    expect(t.clock.pendingTimers).toBe(idle);
  });

  it("does not cancel a response that is already done but still playing", async () => {
    const t = await connected();
    playedOut(t, 0);
    startAudioResponse(t, 500);
    t.pc.channel.receive({
      type: "response.done",
      response: { id: "resp_1", status: "completed", output: [] },
    });
    await play(t, 800);
    expect(t.session.interrupt()).toBe(true);
    expect(t.pc.channel.sentEvents).toEqual([
      { type: "output_audio_buffer.clear" },
      {
        type: "conversation.item.truncate",
        item_id: "item_a1",
        content_index: 0,
        audio_end_ms: expect.any(Number),
      },
    ]);
    within(truncatedAt(t), 800);
  });

  it("takes a cancel that crossed its response's end in stride, and reports other errors", async () => {
    const t = await connected();
    const problems: unknown[] = [];
    t.session.on("problem", (p) => problems.push(p));
    playedOut(t, 0);
    startAudioResponse(t, 0);
    await play(t, 1_400);
    t.session.interrupt();
    const cancel = t.pc.channel.sentEvents.find((e) => e.type === "response.cancel");
    const notActive = (eventId: unknown) => ({
      type: "error" as const,
      error: {
        type: "invalid_request_error",
        code: "response_cancel_not_active",
        message: "Cancellation failed: no active response found",
        param: null,
        event_id: typeof eventId === "string" ? eventId : null,
      },
    });
    // The response finished generating just before the cancel arrived: the server says so.
    t.pc.channel.receive({ type: "response.done", response: { id: "resp_1", output: [] } });
    t.pc.channel.receive(notActive(cancel?.event_id));
    expect(problems).toEqual([]);
    // The same error about a cancel the session did not send (or answered twice) is reported.
    t.pc.channel.receive(notActive(cancel?.event_id));
    t.pc.channel.receive(notActive("someone_else"));
    expect(problems).toHaveLength(2);
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
    playedOut(t, 0);
    ch.receive({ type: "response.created", response: { id: "resp_2" } });
    t.clock.advance(50);
    ch.receive({ type: "output_audio_buffer.started", response_id: "resp_2" });
    await play(t, 300);
    ch.receive({
      type: "response.output_item.added",
      response_id: "resp_2",
      output_index: 0,
      item: { id: "item_late", type: "message", role: "assistant", content: [] },
    });
    await play(t, 400, 1, 300);
    t.session.interrupt();
    expect(ch.sentEvents.at(-1)).toEqual({
      type: "conversation.item.truncate",
      item_id: "item_late",
      content_index: 0,
      audio_end_ms: expect.any(Number),
    });
    within(truncatedAt(t), 700);
  });
});

describe("playedOutMs", () => {
  const codec = ["C1", { type: "codec", clockRate: 48_000 }] as const;

  it("sums the samples out of the jitter buffer of each audio receiver, at its codec's rate", () => {
    const report = new Map<string, unknown>([
      codec,
      ["C2", { type: "codec", clockRate: 8_000 }],
      [
        "A",
        { type: "inbound-rtp", kind: "audio", codecId: "C1", jitterBufferEmittedCount: 48_000 },
      ],
      ["B", { type: "inbound-rtp", kind: "audio", codecId: "C2", jitterBufferEmittedCount: 800 }],
      ["V", { type: "inbound-rtp", kind: "video", jitterBufferEmittedCount: 30 }],
      ["O", { type: "outbound-rtp", kind: "audio", jitterBufferEmittedCount: 9_999 }],
    ]);
    expect(playedOutMs(report)).toBe(1_100);
  });

  it("is 0 before any audio arrived and null when the count is not reported", () => {
    expect(playedOutMs(new Map([codec]))).toBe(0);
    expect(playedOutMs(new Map([["A", { type: "inbound-rtp", kind: "audio" }]]))).toBeNull();
  });
});

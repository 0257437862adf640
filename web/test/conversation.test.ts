import { describe, expect, it } from "vitest";
import { connected } from "./harness";

describe("conversation log and usage", () => {
  it("builds user and assistant turns from transcript events", async () => {
    const t = await connected();
    const ch = t.pc.channel;
    ch.receive({
      type: "conversation.item.added",
      item: { id: "item_u", type: "message", role: "user", content: [{ type: "input_audio" }] },
    });
    ch.receive({
      type: "response.output_item.added",
      response_id: "r1",
      output_index: 0,
      item: { id: "item_a", type: "message", role: "assistant", content: [] },
    });
    ch.receive({ type: "response.output_audio_transcript.delta", item_id: "item_a", delta: "Hi" });
    ch.receive({
      type: "response.output_audio_transcript.delta",
      item_id: "item_a",
      delta: " you",
    });
    ch.receive({
      type: "conversation.item.input_audio_transcription.delta",
      item_id: "item_u",
      delta: "hel",
    });
    expect(t.session.conversation).toEqual([
      { kind: "user", id: "item_u", source: "voice", text: "hel", status: "in_progress" },
      { kind: "assistant", id: "item_a", text: "Hi you", status: "in_progress" },
    ]);
    ch.receive({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "item_u",
      transcript: "hello",
    });
    ch.receive({
      type: "response.output_audio_transcript.done",
      item_id: "item_a",
      transcript: "Hi you!",
    });
    expect(t.session.conversation).toEqual([
      { kind: "user", id: "item_u", source: "voice", text: "hello", status: "done" },
      { kind: "assistant", id: "item_a", text: "Hi you!", status: "done" },
    ]);
  });

  it("settles a turn whose transcript never finished when its response ends", async () => {
    const t = await connected();
    const ch = t.pc.channel;
    for (const [response, item] of [
      ["r1", "item_1"],
      ["r2", "item_2"],
    ]) {
      ch.receive({
        type: "response.output_item.added",
        response_id: response,
        output_index: 0,
        item: { id: item, type: "message", role: "assistant", content: [] },
      });
      ch.receive({ type: "response.output_audio_transcript.delta", item_id: item, delta: "Par" });
    }
    const done = (id: string, item: string, status: "completed" | "cancelled") =>
      ch.receive({
        type: "response.done",
        response: {
          id,
          status,
          output: [{ id: item, type: "message", role: "assistant", content: [] }],
        },
      });
    done("r1", "item_1", "cancelled");
    done("r2", "item_2", "completed");
    expect(t.session.conversation.map((e) => e.status)).toEqual(["interrupted", "done"]);
  });

  it("sums usage over every response.done", async () => {
    const t = await connected();
    const usage = (input: number, output: number) => ({
      input_tokens: input,
      output_tokens: output,
      total_tokens: input + output,
      input_token_details: { text_tokens: 1, audio_tokens: input - 1, cached_tokens: 2 },
      output_token_details: { text_tokens: 3, audio_tokens: output - 3 },
    });
    t.pc.channel.receive({ type: "response.done", response: { id: "r1", usage: usage(10, 20) } });
    t.pc.channel.receive({ type: "response.done", response: { id: "r2", usage: usage(5, 7) } });
    t.pc.channel.receive({ type: "response.done", response: { id: "r3" } });
    expect(t.session.usage).toEqual({
      responses: 2,
      inputTokens: 15,
      outputTokens: 27,
      totalTokens: 42,
      inputTextTokens: 2,
      inputAudioTokens: 13,
      cachedInputTokens: 4,
      outputTextTokens: 6,
      outputAudioTokens: 21,
    });
  });

  it("shows a typed message as sending until the server has it, and not delivered if it never does", async () => {
    const t = await connected();
    t.session.sendText("first");
    t.session.sendText("second");
    t.pc.channel.receive({
      type: "conversation.item.added",
      item: { id: "item_1", type: "message", role: "user", content: [{ type: "input_text" }] },
    });
    t.session.dispose();
    expect(t.session.conversation.map((e) => [e.id, e.status])).toEqual([
      ["item_1", "done"],
      ["local_2", "not-delivered"],
    ]);
  });
});

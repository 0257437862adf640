import { describe, expect, it } from "vitest";
import { restoreContext } from "../src/realtime/restore";
import type { ConversationEntry } from "../src/realtime/types";

const user = (id: string, text: string, source: "voice" | "text" = "voice"): ConversationEntry => ({
  kind: "user",
  id,
  source,
  text,
  status: "done",
});
const assistant = (
  id: string,
  text: string,
  status: "done" | "interrupted" | "in_progress" = "done",
): ConversationEntry => ({ kind: "assistant", id, text, status });

describe("restoreContext", () => {
  it("replays user turns as input_text and assistant turns as output_text, in order", () => {
    const plan = restoreContext([
      user("i1", "What is the capital of France?"),
      assistant("i2", "Paris."),
      user("local_1", "And of Spain?", "text"),
      assistant("i4", "Madr", "interrupted"),
    ]);
    expect(plan).toEqual({
      dropped: 0,
      events: [
        {
          type: "conversation.item.create",
          item: {
            type: "message",
            role: "user",
            content: [{ type: "input_text", text: "What is the capital of France?" }],
          },
        },
        {
          type: "conversation.item.create",
          item: {
            type: "message",
            role: "assistant",
            content: [{ type: "output_text", text: "Paris." }],
          },
        },
        {
          type: "conversation.item.create",
          item: {
            type: "message",
            role: "user",
            content: [{ type: "input_text", text: "And of Spain?" }],
          },
        },
        {
          type: "conversation.item.create",
          item: {
            type: "message",
            role: "assistant",
            content: [{ type: "output_text", text: "Madr" }],
          },
        },
      ],
    });
  });

  it("replays a finished tool call with its output, under the original call id", () => {
    const plan = restoreContext([
      {
        kind: "tool",
        id: "call_1",
        name: "get_local_time",
        arguments: "{}",
        status: "done",
        output: '{"time":"12:00"}',
      },
      { kind: "tool", id: "call_2", name: "get_local_time", arguments: "{}", status: "running" },
    ]);
    expect(plan.events.map((event) => event.item)).toEqual([
      { type: "function_call", call_id: "call_1", name: "get_local_time", arguments: "{}" },
      { type: "function_call_output", call_id: "call_1", output: '{"time":"12:00"}' },
    ]);
  });

  it("skips turns with nothing to say: untranscribed speech, empty assistant turns", () => {
    const plan = restoreContext([
      { kind: "user", id: "i1", source: "voice", text: "", status: "failed" },
      user("i2", "  "),
      assistant("i3", "", "in_progress"),
      user("i4", "hello"),
    ]);
    expect(plan.events).toHaveLength(1);
    expect(plan.dropped).toBe(0);
  });

  it("drops the oldest turns first when over budget, keeping a gap-free recent stretch", () => {
    const entries = [
      user("i1", "a".repeat(5)),
      assistant("i2", "b".repeat(40)),
      user("i3", "c".repeat(30)),
      assistant("i4", "d".repeat(20)),
    ];
    const plan = restoreContext(entries, { maxChars: 55 });
    expect(plan.dropped).toBe(2);
    expect(plan.events.map((event) => JSON.stringify(event.item))).toEqual([
      expect.stringContaining("c".repeat(30)),
      expect.stringContaining("d".repeat(20)),
    ]);
    // An older short turn that would still fit is not replayed across the gap.
    expect(restoreContext(entries, { maxChars: 90 }).events).toHaveLength(3);
    expect(restoreContext(entries, { maxChars: 95 })).toMatchObject({ dropped: 0 });
  });

  it("counts a tool call's arguments and output against the budget, all or nothing", () => {
    const tool: ConversationEntry = {
      kind: "tool",
      id: "call_1",
      name: "lookup",
      arguments: '{"q":"x"}',
      status: "done",
      output: "y".repeat(100),
    };
    expect(restoreContext([tool, user("i2", "thanks")], { maxChars: 50 })).toMatchObject({
      dropped: 1,
      events: [{ item: { role: "user" } }],
    });
  });

  it("replays nothing when even the newest turn does not fit", () => {
    expect(restoreContext([user("i1", "long text")], { maxChars: 3 })).toEqual({
      events: [],
      dropped: 1,
    });
    expect(restoreContext([])).toEqual({ events: [], dropped: 0 });
  });
});

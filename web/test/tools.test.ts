import { describe, expect, it } from "vitest";
import type { RealtimeTool } from "../src/realtime/types";
import { deferred, flush } from "./fakes";
import { connected, type Connected } from "./harness";

describe("tools", () => {
  function functionCall(t: Connected, args: string, name = "add") {
    const ch = t.pc.channel;
    ch.receive({ type: "response.created", response: { id: "resp_t" } });
    ch.receive({
      type: "response.function_call_arguments.done",
      response_id: "resp_t",
      item_id: "item_fc",
      output_index: 0,
      call_id: "call_1",
      name,
      arguments: args,
    });
  }

  function responseDone(t: Connected, status: "completed" | "cancelled" = "completed") {
    t.pc.channel.receive({
      type: "response.done",
      response: {
        id: "resp_t",
        status,
        output: [
          { type: "function_call", id: "item_fc", call_id: "call_1", name: "add", arguments: "{}" },
        ],
      },
    });
  }

  const add: RealtimeTool<{ a: number; b: number }> = {
    name: "add",
    description: "Adds two numbers",
    parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
    handler: ({ a, b }) => ({ sum: a + b }),
  };

  it("runs the handler, returns its result, then asks for a response once the turn is done", async () => {
    const calls: unknown[] = [];
    const t = await connected({
      tools: [
        {
          ...add,
          handler: (args, ctx) => (
            calls.push([args, ctx]),
            add.handler(args as { a: number; b: number }, ctx)
          ),
        },
      ],
    });
    t.pc.channel.sent.length = 0;
    functionCall(t, '{"a":2,"b":3}');
    await flush();
    expect(calls).toEqual([[{ a: 2, b: 3 }, { callId: "call_1" }]]);
    // The output may go at once, but a new response must wait for this one to end.
    expect(t.pc.channel.sentEvents).toEqual([
      {
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: "call_1", output: '{"sum":5}' },
      },
    ]);
    responseDone(t);
    await flush();
    expect(t.pc.channel.sentTypes).toEqual(["conversation.item.create", "response.create"]);
    expect(calls).toHaveLength(1); // the call listed again in response.done is not re-run
    expect(t.session.conversation).toContainEqual({
      kind: "tool",
      id: "call_1",
      name: "add",
      arguments: '{"a":2,"b":3}',
      status: "done",
      output: '{"sum":5}',
    });
  });

  it("waits for a slow handler that finishes after the response is done", async () => {
    const gate = deferred<string>();
    const t = await connected({ tools: [{ ...add, handler: () => gate.promise }] });
    t.pc.channel.sent.length = 0;
    functionCall(t, "{}");
    responseDone(t);
    await flush();
    expect(t.pc.channel.sent).toEqual([]);
    gate.resolve("done later");
    await flush();
    expect(t.pc.channel.sentEvents).toEqual([
      {
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: "call_1", output: "done later" },
      },
      { type: "response.create" },
    ]);
  });

  it("sends a throwing handler's error back to the model and still continues", async () => {
    const t = await connected({
      tools: [
        {
          ...add,
          handler: () => {
            throw new Error("the clock is broken");
          },
        },
      ],
    });
    t.pc.channel.sent.length = 0;
    functionCall(t, "{}");
    responseDone(t);
    await flush();
    expect(t.pc.channel.sentEvents).toEqual([
      {
        type: "conversation.item.create",
        item: {
          type: "function_call_output",
          call_id: "call_1",
          output: '{"error":"the clock is broken"}',
        },
      },
      { type: "response.create" },
    ]);
    expect(t.session.conversation.find((e) => e.id === "call_1")).toMatchObject({
      status: "error",
    });
  });

  it("answers unknown tools and malformed arguments with an error", async () => {
    const t = await connected({ tools: [add] });
    t.pc.channel.sent.length = 0;
    functionCall(t, "{}", "nope");
    await flush();
    expect(t.pc.channel.sentEvents[0]).toMatchObject({
      item: { output: '{"error":"Unknown tool \\"nope\\"."}' },
    });

    const t2 = await connected({ tools: [add] });
    t2.pc.channel.sent.length = 0;
    functionCall(t2, "{not json");
    await flush();
    expect(t2.pc.channel.sentEvents[0]).toMatchObject({
      item: { output: '{"error":"The arguments are not valid JSON."}' },
    });
  });

  it("does not start a new response after a cancelled one", async () => {
    const t = await connected({ tools: [add] });
    t.pc.channel.sent.length = 0;
    functionCall(t, '{"a":1,"b":1}');
    responseDone(t, "cancelled");
    await flush();
    expect(t.pc.channel.sentTypes).toEqual(["conversation.item.create"]);
  });

  it("sends the new tool list when a tool is registered while connected", async () => {
    const t = await connected();
    t.pc.channel.sent.length = 0;
    const remove = t.session.registerTool(add);
    remove();
    expect(t.pc.channel.sentEvents).toMatchObject([
      { type: "session.update", session: { tools: [{ name: "add" }] } },
      { type: "session.update", session: { tools: [] } },
    ]);
  });
});

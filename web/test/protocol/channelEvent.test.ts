import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  type ChannelProblem,
  parseChannelEvent,
  receiveChannelEvent,
} from "../../src/realtime/protocol/channelEvent";

const ping = v.object({ type: v.literal("ping"), n: v.number() });
const schemaOf = (type: string) => (type === "ping" ? ping : undefined);

describe("parseChannelEvent", () => {
  it("checks a known type with its schema", () => {
    expect(parseChannelEvent('{"type":"ping","n":1}', schemaOf)).toEqual({
      ok: true,
      kind: "event",
      event: { type: "ping", n: 1 },
    });
  });

  it("passes a well-formed event of another type as unknown", () => {
    expect(parseChannelEvent('{"type":"pong"}', schemaOf)).toEqual({
      ok: true,
      kind: "unknown",
      type: "pong",
    });
  });

  it("names what is wrong without throwing", () => {
    const message = (data: unknown) => {
      const result = parseChannelEvent(data, schemaOf);
      return result.ok ? null : result.message;
    };
    expect(message(new ArrayBuffer(2))).toBe("Expected a text message on the event channel.");
    expect(message("{")).toBe("A message on the event channel is not JSON.");
    expect(message('{"type":""}')).toBe("A message on the event channel has no event type.");
    expect(message("[1]")).toBe("A message on the event channel has no event type.");
    expect(message('{"type":"ping","n":"1"}')).toMatch(/^A ping event does not check at n: /);
  });
});

describe("receiveChannelEvent", () => {
  function receive(data: unknown, handle: (event: { type: string }) => void = () => {}) {
    const problems: ChannelProblem[] = [];
    const heard: string[] = [];
    receiveChannelEvent(data, (d) => parseChannelEvent(d, schemaOf), handle, {
      problem: (problem) => problems.push(problem),
      server: (event) => heard.push(event.type),
    });
    return { problems, heard };
  }

  it("hands a checked event to the handler, then to the host", () => {
    const handled: unknown[] = [];
    expect(receive('{"type":"ping","n":2}', (event) => handled.push(event))).toEqual({
      problems: [],
      heard: ["ping"],
    });
    expect(handled).toEqual([{ type: "ping", n: 2 }]);
  });

  it("reports an unreadable message as a problem, and an unknown type as nothing", () => {
    expect(receive("{").problems).toMatchObject([{ source: "protocol", raw: "{" }]);
    expect(receive('{"type":"pong"}')).toEqual({ problems: [], heard: [] });
  });

  it("a handler that throws is a problem, and the event is still heard", () => {
    const result = receive('{"type":"ping","n":2}', () => {
      throw new Error("boom");
    });
    expect(result.problems).toMatchObject([{ message: "Could not handle ping: boom" }]);
    expect(result.heard).toEqual(["ping"]);
  });
});

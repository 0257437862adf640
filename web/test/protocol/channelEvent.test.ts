import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { parseChannelEvent } from "../../src/realtime/protocol/channelEvent";

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

import { describe, expect, it } from "vitest";
import { DEFAULT_GARBAGE, FaultQueue, parseFault } from "../src/faults.js";

describe("parseFault", () => {
  it("fills count and the garbage body", () => {
    expect(parseFault({ route: "client_secrets", kind: "status", status: 429 })).toEqual({
      ok: true,
      value: { route: "client_secrets", kind: "status", status: 429, count: 1 },
    });
    expect(parseFault({ route: "calls", kind: "garbage" })).toMatchObject({
      ok: true,
      value: { body: DEFAULT_GARBAGE },
    });
    expect(
      parseFault({
        route: "calls",
        kind: "status",
        status: 400,
        code: "invalid_offer",
        param: "sdp",
      }),
    ).toEqual({
      ok: true,
      value: {
        route: "calls",
        kind: "status",
        status: 400,
        count: 1,
        code: "invalid_offer",
        param: "sdp",
      },
    });
    expect(parseFault({ route: "calls", kind: "delay", ms: 3000 })).toEqual({
      ok: true,
      value: { route: "calls", kind: "delay", ms: 3000, count: 1 },
    });
  });

  it.each([
    [{ route: "sessions", kind: "hang" }, "route"],
    [{ route: "calls", kind: "slow" }, "kind"],
    [{ route: "calls", kind: "status" }, "status"],
    [{ route: "calls", kind: "status", status: 200 }, "status"],
    [{ route: "calls", kind: "hang", count: 0 }, "count"],
    [{ route: "calls", kind: "hang", status: 500 }, "status"],
    [{ route: "calls", kind: "delay" }, "ms"],
    [{ route: "calls", kind: "delay", ms: 0 }, "ms"],
    [{ route: "calls", kind: "delay", ms: 60_001 }, "ms"],
    [{ route: "calls", kind: "delay", ms: 1.5 }, "ms"],
    [{ route: "calls", kind: "hang", ms: 100 }, "ms"],
    [{ route: "calls", kind: "status", status: 400, code: 7 }, "code"],
    [{ route: "calls", kind: "hang", param: "sdp" }, "param"],
  ])("rejects %j at %s", (input, param) => {
    const result = parseFault(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.param).toBe(param);
  });
});

describe("FaultQueue", () => {
  it("applies each fault count times, per route, in order", () => {
    const queue = new FaultQueue();
    queue.add({ route: "client_secrets", kind: "status", status: 500, count: 2 });
    queue.add({ route: "client_secrets", kind: "hang", count: 1 });
    queue.add({ route: "calls", kind: "hang", count: 1 });
    expect(queue.take("hangup")).toBeUndefined();
    expect(queue.take("client_secrets")?.kind).toBe("status");
    expect(queue.take("client_secrets")?.kind).toBe("status");
    expect(queue.take("client_secrets")?.kind).toBe("hang");
    expect(queue.take("client_secrets")).toBeUndefined();
    expect(queue.list()).toEqual([{ route: "calls", kind: "hang", count: 1 }]);
    queue.clear();
    expect(queue.take("calls")).toBeUndefined();
  });
});

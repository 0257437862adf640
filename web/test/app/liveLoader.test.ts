import { describe, expect, it } from "vitest";
import { LiveLoader } from "../../src/app/liveLoader";
import { REAL_TIME } from "../timeouts";

describe("LiveLoader", REAL_TIME, () => {
  it("imports the session code (live.ts) unless told otherwise", async () => {
    let failures = 0;
    const live = await new LiveLoader(() => failures++).load();
    expect(failures).toBe(0);
    expect(typeof live?.RealtimeSession).toBe("function");
    expect(typeof live?.Reconnector).toBe("function");
  });
});

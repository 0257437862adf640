import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { onCall } from "firebase-functions/v2/https";
import { afterEach, describe, expect, it } from "vitest";
import { cachedPreflight, PREFLIGHT_MAX_AGE_SECONDS } from "../src/preflight";
import { endRealtimeCall, realtimeCall } from "../src/realtimeCall";
import { realtimeToken } from "../src/realtimeToken";
import { REAL_TIME } from "./helpers/timeouts";

const ALLOWED = "https://app.example";

let server: Server | undefined;
afterEach(() => server?.close());

/** The callable as the platform runs it: a plain HTTP server in front of the handler. */
async function serve(fn: ReturnType<typeof onCall>): Promise<string> {
  server = createServer((req, res) => void fn(req as never, res as never));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** What the Firebase JS SDK's callable request makes a browser ask first. */
function preflight(url: string, origin: string) {
  return fetch(url, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization,content-type,x-firebase-appcheck",
    },
  });
}

describe("cachedPreflight", REAL_TIME, () => {
  // Two origins: with one, the SDK sends it to every caller rather than checking membership.
  const callable = () => onCall({ cors: [ALLOWED, "https://admin.example"] }, () => ({ ok: true }));

  it("lets the browser keep an allowed origin's preflight answer", async () => {
    const url = await serve(cachedPreflight(callable()));
    const response = await preflight(url, ALLOWED);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(response.headers.get("access-control-max-age")).toBe(String(PREFLIGHT_MAX_AGE_SECONDS));
  });

  it("leaves the CORS decision to the callable: another origin is still not allowed", async () => {
    const url = await serve(cachedPreflight(callable()));
    const response = await preflight(url, "https://evil.example");
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("without it, the answer has no max age (a browser keeps it for 5 s)", async () => {
    const url = await serve(callable());
    expect((await preflight(url, ALLOWED)).headers.get("access-control-max-age")).toBeNull();
  });

  it("keeps what the CLI and the emulator read from the export", () => {
    const inner = callable();
    const wrapped = cachedPreflight(inner);
    expect(wrapped.__endpoint).toBe(inner.__endpoint);
    expect(wrapped.run).toBe(inner.run);
    for (const exported of [realtimeToken, realtimeCall, endRealtimeCall]) {
      expect(exported.__endpoint.callableTrigger).toEqual({});
      expect(typeof exported.run).toBe("function");
    }
  });
});

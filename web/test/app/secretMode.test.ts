import { describe, expect, it } from "vitest";
import type { RealtimeTokenRequest, RealtimeTokenResponse } from "voice-contract";
import type { LiveModule } from "../../src/app/liveLoader";
import type { ServerOffer } from "../../src/app/mode";
import { SecretMode } from "../../src/app/secretMode";
import type { TokenPrefetch } from "../../src/config";
import { RealtimeCallError, RealtimeConnectError } from "../../src/realtime/errors";
import { CachedTokenProvider } from "../../src/backend/provider";
import { SERVER_CHOICES, SERVER_SESSION, flush } from "../fakes";

const NOW = Date.parse("2026-11-10T21:00:00Z");

function minted(n: number): RealtimeTokenResponse {
  return {
    token: `ek_${n}`,
    expiresAtMs: NOW + 600_000,
    model: "gpt-realtime",
    session: { ...SERVER_SESSION, voice: "cedar" },
    quota: { limit: 20, remaining: 20 - n, resetsAtMs: NOW + 3_600_000 },
    choices: SERVER_CHOICES,
  };
}

/** A SecretMode on a real token provider over a counting fetcher, and what it rendered. */
function harness(
  prefetch: TokenPrefetch = "load",
  signedIn = true,
  request: RealtimeTokenRequest = {},
) {
  const fetched: RealtimeTokenRequest[] = [];
  const tokens = new CachedTokenProvider({
    fetchToken: async (sent) => {
      fetched.push(sent);
      return minted(fetched.length);
    },
    now: () => NOW,
  });
  const offers: ServerOffer[] = [];
  const rendered = { model: "", quota: "", fetches: 0, source: "" };
  const mode = new SecretMode({
    tokens,
    prefetch,
    callsUrl: "http://127.0.0.1:8790/v1/realtime/calls",
    signedIn: () => signedIn,
    choices: { request: () => request, show: (offer) => offers.push(offer) },
    details: {
      renderModel: (model) => (rendered.model = model),
      renderQuota: (remaining, limit) => (rendered.quota = `${remaining}/${limit}`),
      renderTokenStats: (fetches, source) => {
        rendered.fetches = fetches;
        if (source !== undefined) rendered.source = source;
      },
    },
  });
  return { mode, tokens, fetched, offers, rendered };
}

const NO_LIVE = {} as LiveModule;

describe("SecretMode", () => {
  it("prefetches on its own trigger and on a changed choice, only when signed in", async () => {
    const t = harness("intent");
    t.mode.prefetch("load");
    await flush();
    expect(t.fetched).toHaveLength(0);
    t.mode.prefetch("intent");
    await flush();
    expect(t.fetched).toHaveLength(1);
    expect(t.rendered.fetches).toBe(1);

    const off = harness("off");
    off.mode.prefetch("intent");
    off.mode.prefetch("load");
    await flush();
    expect(off.fetched).toHaveLength(0);

    const signedOut = harness("load", false);
    signedOut.mode.prefetch("choice");
    await flush();
    expect(signedOut.fetched).toHaveLength(0);
  });

  it("shows each mint's choices, quota and model; the default voice only for a request without one", async () => {
    const t = harness();
    await t.tokens.get({});
    expect(t.offers.at(-1)).toEqual({ choices: SERVER_CHOICES, defaultVoice: "cedar" });
    expect(t.rendered).toMatchObject({ model: "gpt-realtime", quota: "19/20", fetches: 1 });
    await t.tokens.get({ voice: "marin" });
    expect(t.offers.at(-1)).toEqual({ choices: SERVER_CHOICES });
  });

  it("connects with a secret, saying where it came from and what the server set up", async () => {
    const t = harness();
    const resolved: string[] = [];
    const connection = t.mode.connection(
      NO_LIVE,
      {},
      {
        resolved: (model, session) => resolved.push(`${model}:${session.turnDetection}`),
      },
    );
    expect(connection.exchange).toBeUndefined();
    if (connection.exchange !== undefined) return;
    expect(connection.callsUrl).toBe("http://127.0.0.1:8790/v1/realtime/calls");
    expect(await connection.getToken()).toBe("ek_1");
    expect(t.rendered).toMatchObject({ source: "backend", fetches: 1, model: "gpt-realtime" });
    expect(resolved).toEqual(["gpt-realtime:semantic_vad"]);
    expect(await connection.getToken()).toBe("ek_1");
    expect(t.rendered.source).toBe("cache");
  });

  it("forgets a secret OpenAI rejected, and every secret when the user changes", async () => {
    const t = harness();
    const connection = t.mode.connection(NO_LIVE, {}, { resolved: () => {} });
    if (connection.exchange !== undefined) throw new Error("expected a secret connection");
    await connection.getToken();
    const rejected = new RealtimeCallError(401, "OpenAI rejected the call (HTTP 401)");
    const closed = t.mode.closed(
      {
        kind: "connect-failed",
        error: new RealtimeConnectError("sdp", "rejected", rejected.message, { cause: rejected }),
      },
      {},
    );
    expect(closed).toBeNull();
    expect(await connection.getToken()).toBe("ek_2");
    t.mode.userChanged();
    expect(await connection.getToken()).toBe("ek_3");
    expect(t.mode.hangUp()).toBe(false);
  });
});

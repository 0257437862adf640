import { describe, expect, it } from "vitest";
import { callableUrl, PageHideEnd, type BeaconFetch } from "../../src/backend/pageHideEnd";
import { deferred } from "../fakes";

type Sent = { url: string; init: Parameters<BeaconFetch>[1] };

function recorder(): { fetch: BeaconFetch; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    fetch: (url, init) => {
      sent.push({ url, init });
      return Promise.reject(new Error("the page is gone")); // never surfaces
    },
  };
}

describe("callableUrl", () => {
  it("addresses the emulator or production the way the Firebase SDK does", () => {
    expect(
      callableUrl({
        projectId: "demo-realtime",
        region: "us-central1",
        name: "endRealtimeCall",
        emulator: { host: "127.0.0.1", port: 5001 },
      }),
    ).toBe("http://127.0.0.1:5001/demo-realtime/us-central1/endRealtimeCall");
    expect(
      callableUrl({
        projectId: "p",
        region: "europe-west1",
        name: "endRealtimeCall",
        emulator: null,
      }),
    ).toBe("https://europe-west1-p.cloudfunctions.net/endRealtimeCall");
  });
});

describe("PageHideEnd", () => {
  const URL = "http://127.0.0.1:5001/p/r/endRealtimeCall";

  it("sends the callable protocol once, with keepalive, after the tokens are in", async () => {
    const { fetch, sent } = recorder();
    const end = new PageHideEnd({
      url: URL,
      idToken: async () => "id-token",
      appCheckToken: async () => "app-check-token",
      fetch,
    });
    await end.arm("rtc_1");
    expect(end.status).toBe("ready");
    expect(end.fire()).toBe(true);
    expect(end.fire()).toBe(false);
    expect(sent).toEqual([
      {
        url: URL,
        init: {
          method: "POST",
          keepalive: true,
          headers: {
            "Content-Type": "application/json",
            Authorization: "Bearer id-token",
            "X-Firebase-AppCheck": "app-check-token",
          },
          body: JSON.stringify({ data: { callId: "rtc_1" } }),
        },
      },
    ]);
  });

  it("sends nothing before the tokens are in, after disarm, or when a token failed", async () => {
    const { fetch, sent } = recorder();
    const idToken = deferred<string>();
    const end = new PageHideEnd({
      url: URL,
      idToken: () => idToken.promise,
      appCheckToken: async () => null,
      fetch,
    });
    const arming = end.arm("rtc_1");
    expect(end.status).toBe("preparing");
    expect(end.fire()).toBe(false);

    const again = end.arm("rtc_2");
    end.disarm();
    idToken.resolve("id-token");
    await Promise.all([arming, again]);
    expect(end.status).toBe("idle");
    expect(end.fire()).toBe(false);

    const failing = new PageHideEnd({
      url: URL,
      idToken: () => Promise.reject(new Error("signed out")),
      appCheckToken: async () => null,
      fetch,
    });
    await failing.arm("rtc_3");
    expect(failing.status).toBe("idle");
    expect(failing.fire()).toBe(false);
    expect(sent).toEqual([]);
  });

  it("leaves App Check out when there is none, and ends the latest call armed", async () => {
    const { fetch, sent } = recorder();
    const end = new PageHideEnd({
      url: URL,
      idToken: async () => "id-token",
      appCheckToken: async () => null,
      fetch,
    });
    await end.arm("rtc_1");
    await end.arm("rtc_2");
    end.fire();
    expect(sent[0]?.init.headers).not.toHaveProperty("X-Firebase-AppCheck");
    expect(sent[0]?.init.body).toBe('{"data":{"callId":"rtc_2"}}');
  });

  it("says how long the call ran when the page ended it, so the charge stops there", async () => {
    const { fetch, sent } = recorder();
    const end = new PageHideEnd({
      url: URL,
      idToken: async () => "id-token",
      appCheckToken: async () => null,
      fetch,
    });
    await end.arm("rtc_1");
    end.fire(42);
    expect(sent[0]?.init.body).toBe('{"data":{"callId":"rtc_1","endedAfterSeconds":42}}');
  });
});

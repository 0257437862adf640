import { describe, expect, it } from "vitest";
import { RealtimeConnectError } from "../src/realtime/errors";
import type { SdpExchange } from "../src/realtime/exchange";
import { FAKE_ANSWER_SDP, FakePeerConnection, deferred, flush, type FakeStream } from "./fakes";
import { setup } from "./harness";

/** Every step of connect() runs under its own deadline and says which step ran out. */
describe("connect deadlines and failures", () => {
  const steps = [
    ["microphone", "microphone", "The microphone did not open within 60 s."],
    ["token", "token", "The session key did not come within 20 s."],
    ["offer", "offer", "The browser did not build its offer within 10 s."],
    ["channel", "ice", "The audio connection to OpenAI did not open within 15 s."],
  ] as const;

  for (const [stage, waited, message] of steps) {
    it(`times out at the ${stage} step`, async () => {
      const never = deferred<never>();
      const pc = new FakePeerConnection();
      if (stage === "offer") pc.createOffer = () => never.promise;
      const t = setup({
        createPeerConnection: () => pc,
        ...(stage === "microphone" ? { getUserMedia: () => never.promise } : {}),
        ...(stage === "token" ? { getToken: () => never.promise } : {}),
      });
      const connecting = t.session.connect().catch((e: unknown) => e);
      await flush();
      t.clock.advance(60_000);
      const error = await connecting;
      expect(error).toBeInstanceOf(RealtimeConnectError);
      expect(error).toMatchObject({ stage, failure: "timeout", waited, message });
      expect(t.session.state.status).toBe("closed");
      expect(t.clock.pendingTimers).toBe(0);
    });
  }

  /** Connects on `exchange` and lets the clock run out; the error it failed with. */
  const timedOut = async (exchange: SdpExchange, pc = new FakePeerConnection()) => {
    const t = setup({ exchange, createPeerConnection: () => pc });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.clock.advance(60_000);
    return connecting;
  };
  const hangs: SdpExchange["exchangeOffer"] = () => deferred<never>().promise;

  it("names OpenAI when the browser's own post of the offer goes unanswered", async () => {
    expect(await timedOut({ answeredBy: "openai", exchangeOffer: hangs })).toMatchObject({
      stage: "sdp",
      failure: "timeout",
      waited: "openai-answer",
      message: "OpenAI's answer did not come within 15 s.",
    });
    // An exchange that does not say who answers is the browser's own post.
    expect(await timedOut({ exchangeOffer: hangs })).toMatchObject({ waited: "openai-answer" });
  });

  it("names the app's function, not OpenAI, when a backend's exchange goes unanswered", async () => {
    const error = await timedOut({ answeredBy: "backend", exchangeOffer: hangs });
    expect(error).toMatchObject({
      stage: "sdp",
      failure: "timeout",
      waited: "backend-answer",
      message: "The voice server (this app's function) did not answer within 15 s.",
    });
    expect((error as Error).message).not.toMatch(/OpenAI/);
  });

  it("names the event channel when ICE and DTLS are up but the channel never opens", async () => {
    const pc = new FakePeerConnection();
    const exchange: SdpExchange = {
      exchangeOffer: async () => {
        pc.setConnectionState("connected");
        return { answer: FAKE_ANSWER_SDP, callId: "rtc_1" };
      },
    };
    expect(await timedOut(exchange, pc)).toMatchObject({
      stage: "channel",
      failure: "timeout",
      waited: "channel",
      message: "OpenAI's event channel did not open within 15 s.",
    });
  });

  it("names the microphone when the answer came but an allowed microphone did not open", async () => {
    const t = setup({
      getUserMedia: () => deferred<never>().promise,
      microphoneGranted: async () => true,
    });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.clock.advance(15_000);
    expect(await connecting).toMatchObject({
      stage: "sdp",
      failure: "timeout",
      waited: "microphone",
    });
  });

  const micErrors = [
    ["NotAllowedError", "denied"],
    ["SecurityError", "denied"],
    ["NotFoundError", "not-found"],
    ["NotReadableError", "in-use"],
    ["TypeError", "microphone"],
  ] as const;
  for (const [name, failure] of micErrors) {
    it(`reads a ${name} from getUserMedia as ${failure}`, async () => {
      const t = setup({
        getUserMedia: async () => {
          throw Object.assign(new Error("x"), { name });
        },
      });
      await expect(t.session.connect()).rejects.toMatchObject({ stage: "microphone", failure });
      expect(t.fetch.requests).toHaveLength(0);
    });
  }

  it("reads a failing offer as unsupported", async () => {
    const pc = new FakePeerConnection();
    pc.createOffer = async () => {
      throw new Error("NotSupportedError");
    };
    const t = setup({ createPeerConnection: () => pc });
    await expect(t.session.connect()).rejects.toMatchObject({
      stage: "offer",
      failure: "unsupported",
    });
  });

  it("reads an answer the browser refuses as invalid-answer", async () => {
    const pc = new FakePeerConnection();
    pc.rejectRemote = new Error("Failed to parse SessionDescription");
    const t = setup({ createPeerConnection: () => pc });
    await expect(t.session.connect()).rejects.toMatchObject({
      stage: "sdp",
      failure: "invalid-answer",
    });
  });

  it("reads ICE failing before the channel opens as a connection failure", async () => {
    const t = setup();
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.pc.setConnectionState("failed");
    expect(await connecting).toMatchObject({ stage: "channel", failure: "connection" });
    expect(t.session.state).toEqual({ status: "closed", reason: { kind: "ice-failed" } });
  });

  it("reads a token provider failure as token, keeping its error as the cause", async () => {
    const cause = new Error("Try again in 4 s.");
    const t = setup({ getToken: () => Promise.reject(cause) });
    const error = await t.session.connect().catch((e: unknown) => e);
    expect(error).toMatchObject({ stage: "token", failure: "token", cause });
  });

  it("reads dispose while connecting as aborted", async () => {
    const mic = deferred<FakeStream>();
    const t = setup({ getUserMedia: () => mic.promise });
    const connecting = t.session.connect().catch((e: unknown) => e);
    t.session.dispose();
    expect(await connecting).toMatchObject({ stage: "aborted", failure: "aborted" });
  });

  it("ends every message with a full stop so advice can follow", () => {
    expect(new RealtimeConnectError("sdp", "unreachable", "Failed to fetch").message).toBe(
      "Failed to fetch.",
    );
    expect(new RealtimeConnectError("sdp", "unreachable", "Done.").message).toBe("Done.");
  });
});

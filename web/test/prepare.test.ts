import { describe, expect, it } from "vitest";
import { CallPreparer, prepareCall } from "../src/realtime/prepare";
import { FAKE_ANSWER_SDP, FAKE_OFFER_SDP, FakePeerConnection, deferred, flush } from "./fakes";
import { TOKEN, setup } from "./harness";

/** A preparer over fake peer connections, and every one it made. */
function preparer(make: () => FakePeerConnection = () => new FakePeerConnection()) {
  const pcs: FakePeerConnection[] = [];
  let permissionAsked = 0;
  const calls = new CallPreparer({
    createPeerConnection: () => {
      const pc = make();
      pcs.push(pc);
      return pc;
    },
    microphoneGranted: async () => {
      permissionAsked++;
      return true;
    },
  });
  return { calls, pcs, permissionAsked: () => permissionAsked };
}

describe("prepareCall", () => {
  it("adds a sendrecv audio transceiver without a track and the event channel, and sets the offer", async () => {
    const pc = new FakePeerConnection();
    const call = await prepareCall(pc);
    expect(pc.transceivers).toEqual([
      { kind: "audio", init: { direction: "sendrecv" }, sender: call.sender },
    ]);
    expect(pc.sender.replaced).toEqual([]);
    expect(pc.channels.map((c) => c.label)).toEqual(["oai-events"]);
    expect(call.channel).toBe(pc.channel);
    expect(call.offer).toBe(FAKE_OFFER_SDP);
    expect(pc.localDescription?.sdp).toBe(FAKE_OFFER_SDP);
  });

  it("closes the peer connection when the offer cannot be made", async () => {
    const pc = new FakePeerConnection();
    pc.createOffer = () => Promise.reject(new Error("no codecs"));
    await expect(prepareCall(pc)).rejects.toMatchObject({ stage: "offer" });
    expect(pc.closeCount).toBe(1);
  });
});

describe("CallPreparer", () => {
  it("keeps one call ready and hands it over once", async () => {
    const { calls, pcs } = preparer();
    calls.prepare();
    calls.prepare();
    expect(calls.take()).toBeNull(); // still preparing
    await flush();
    calls.prepare();
    expect(pcs).toHaveLength(1);
    expect(calls.ready).toBe(true);
    const call = calls.take();
    expect(call?.pc).toBe(pcs[0]);
    expect(calls.take()).toBeNull();
    expect(pcs[0]?.closeCount).toBe(0);
    calls.prepare();
    await flush();
    expect(pcs).toHaveLength(2);
  });

  it("asks whether the microphone is allowed on every prepare, so a click finds the answer; disposed, nothing", async () => {
    const { calls, permissionAsked } = preparer();
    calls.prepare();
    expect(permissionAsked()).toBe(1);
    await flush();
    calls.prepare(); // a call is ready: nothing to build, but the permission may have changed
    expect(permissionAsked()).toBe(2);
    calls.dispose();
    calls.prepare();
    expect(permissionAsked()).toBe(2);
  });

  it("prepares its call even when asking for the permission fails", async () => {
    const pcs: FakePeerConnection[] = [];
    const calls = new CallPreparer({
      createPeerConnection: () => {
        const pc = new FakePeerConnection();
        pcs.push(pc);
        return pc;
      },
      microphoneGranted: () => Promise.reject(new Error("no permissions service")),
    });
    calls.prepare();
    await flush();
    expect(calls.ready).toBe(true);
    expect(pcs).toHaveLength(1);
  });

  it("hands over nothing built before the microphone was allowed once it is allowed", async () => {
    const pcs: FakePeerConnection[] = [];
    let grantedNow: boolean | null = false;
    let granted = false;
    const calls = new CallPreparer({
      createPeerConnection: () => {
        const pc = new FakePeerConnection();
        pcs.push(pc);
        return pc;
      },
      microphoneGranted: async () => granted,
      microphoneGrantedNow: () => grantedNow,
    });
    // Still refused at the click: the call is used (the permission decides nothing here).
    calls.prepare();
    await flush();
    expect(calls.take()?.pc).toBe(pcs[0]);
    // Refused when built, allowed at the click: closed, and the session builds its own.
    calls.prepare();
    await flush();
    grantedNow = true;
    expect(calls.take()).toBeNull();
    expect(pcs[1]?.closeCount).toBe(1);
    // Built once allowed: used.
    granted = true;
    calls.prepare();
    await flush();
    expect(calls.take()?.pc).toBe(pcs[2]);
    // Not known yet either way: used.
    grantedNow = null;
    granted = false;
    calls.prepare();
    await flush();
    expect(calls.take()?.pc).toBe(pcs[3]);
  });

  it("hands over nothing whose peer connection closed meanwhile, and prepares again", async () => {
    const { calls, pcs } = preparer();
    calls.prepare();
    await flush();
    pcs[0]?.close();
    expect(calls.take()).toBeNull();
    calls.prepare();
    await flush();
    expect(calls.take()?.pc).toBe(pcs[1]);
  });

  it("survives a factory that throws and an offer that fails: the slot stays empty", async () => {
    let fail = true;
    const calls = new CallPreparer({
      createPeerConnection: () => {
        if (fail) throw new Error("RTCPeerConnection is not supported");
        return new FakePeerConnection();
      },
    });
    expect(() => calls.prepare()).not.toThrow();
    expect(calls.take()).toBeNull();

    const failing = preparer(() => {
      const pc = new FakePeerConnection();
      pc.createOffer = () => Promise.reject(new Error("no codecs"));
      return pc;
    });
    failing.calls.prepare();
    await flush();
    expect(failing.calls.take()).toBeNull();
    expect(failing.pcs[0]?.closeCount).toBe(1);
    fail = false;
    calls.prepare();
    await flush();
    expect(calls.take()).not.toBeNull();
  });

  it("dispose closes a ready call and one still being prepared, once, and prepares no more", async () => {
    const ready = preparer();
    ready.calls.prepare();
    await flush();
    ready.calls.dispose();
    ready.calls.dispose();
    expect(ready.pcs[0]?.closeCount).toBe(1);
    expect(ready.calls.take()).toBeNull();
    ready.calls.prepare();
    expect(ready.pcs).toHaveLength(1);

    const offer = deferred<{ type: RTCSdpType; sdp: string }>();
    const slow = preparer(() => {
      const pc = new FakePeerConnection();
      pc.createOffer = () => offer.promise;
      return pc;
    });
    slow.calls.prepare();
    slow.calls.dispose();
    expect(slow.pcs[0]?.closeCount).toBe(1);
    offer.resolve({ type: "offer", sdp: FAKE_OFFER_SDP });
    await flush();
    expect(slow.calls.take()).toBeNull();
  });
});

describe("RealtimeSession with a prepared call", () => {
  it("adopts it: no new peer connection or offer, the microphone only after connect()", async () => {
    const { calls, pcs } = preparer();
    calls.prepare();
    await flush();
    const pc = pcs[0]!;
    let offers = 0;
    const createOffer = pc.createOffer.bind(pc);
    pc.createOffer = () => {
      offers += 1;
      return createOffer();
    };
    let built = 0;
    const t = setup({
      preparedCall: () => calls.take(),
      createPeerConnection: () => {
        built += 1;
        return new FakePeerConnection();
      },
    });
    // Preparing opened no microphone.
    expect(t.micRequests).toBe(0);
    const connecting = t.session.connect();
    await flush();
    expect(t.micRequests).toBe(1);
    expect(built).toBe(0);
    expect(offers).toBe(0);
    expect(t.fetch.requests[0]).toMatchObject({
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: FAKE_OFFER_SDP,
    });
    expect(pc.sender.current).toBe(t.mic.tracks[0]);
    expect(pc.remoteDescription?.sdp).toBe(FAKE_ANSWER_SDP);
    pc.channel.open();
    pc.channel.receive({ type: "session.created" });
    await connecting;
    expect(t.session.state).toEqual({ status: "connected", callId: "rtc_test123" });
    expect(t.session.timings).toMatchObject({ offer: 0, sessionCreated: 0 });
    // The session owns it now: its listeners are on the adopted connection and channel.
    pc.setIceState("failed");
    expect(t.session.state).toMatchObject({ status: "closed", reason: { kind: "ice-failed" } });
    expect(pc.closeCount).toBe(1);
  });

  it("builds its own when none is ready", async () => {
    const t = setup({ preparedCall: () => null });
    const connecting = t.session.connect();
    await flush();
    t.pc.channel.open();
    await connecting;
    expect(t.pc.localDescription?.sdp).toBe(FAKE_OFFER_SDP);
  });

  it("closes the adopted call when disposed while connecting", async () => {
    const { calls, pcs } = preparer();
    calls.prepare();
    await flush();
    const micStream = deferred<never>();
    const t = setup({ preparedCall: () => calls.take(), getUserMedia: () => micStream.promise });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.session.dispose();
    expect(await connecting).toMatchObject({ stage: "aborted" });
    expect(pcs[0]?.closeCount).toBe(1);
    expect(pcs[0]?.channel.closeCount).toBe(1);
    expect(t.fetch.requests).toHaveLength(0);
  });
});

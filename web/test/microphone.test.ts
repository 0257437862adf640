import { describe, expect, it, vi } from "vitest";
import { Microphone, permissionGranted } from "../src/realtime/microphone";
import { PushToTalk } from "../src/realtime/pushToTalk";
import type { MicState } from "../src/realtime/types";
import { FakeSender, FakeStream, type FakeTrack, flush } from "./fakes";
import { connected, startAudioResponse } from "./harness";

describe("mute", () => {
  it("mutes by disabling the track", async () => {
    const t = await connected();
    const states: unknown[] = [];
    t.session.on("mic", (mic) => states.push(mic));
    t.session.setMuted(true);
    expect(t.mic.tracks[0]?.enabled).toBe(false);
    t.session.setMuted(false);
    expect(t.mic.tracks[0]?.enabled).toBe(true);
    expect(states).toEqual([
      { muted: true, live: false },
      { muted: false, live: true },
    ]);
  });

  it("auto on Android detaches the microphone while the assistant speaks", async () => {
    const t = await connected({ isAndroid: true });
    expect(t.session.muteStrategy).toBe("aggressive");
    const track = t.mic.tracks[0];
    startAudioResponse(t, 10);
    await flush();
    expect(t.pc.sender.current).toBeNull();
    expect(t.session.mic.live).toBe(false);
    t.pc.channel.receive({ type: "output_audio_buffer.stopped", response_id: "resp_1" });
    await flush();
    expect(t.pc.sender.current).toBe(track);
    expect(t.session.mic.live).toBe(true);
  });

  it("auto elsewhere leaves the microphone attached", async () => {
    const t = await connected({ isAndroid: false });
    expect(t.session.muteStrategy).toBe("standard");
    const before = t.pc.sender.replaced.length;
    startAudioResponse(t, 10);
    await flush();
    expect(t.pc.sender.replaced).toHaveLength(before);
    expect(t.session.mic.live).toBe(true);
  });

  it("never stops a stream it was given", async () => {
    const own = new FakeStream();
    const t = await connected({ mediaStream: own });
    expect(t.micRequests).toBe(0);
    t.session.dispose();
    expect(own.tracks[0]?.stopped).toBe(false);
  });
});

describe("push-to-talk gate", () => {
  function live() {
    const changes: MicState[] = [];
    const mic = new Microphone({
      strategy: "standard",
      onChange: (state) => changes.push(state),
      onProblem: () => {},
    });
    const stream = new FakeStream();
    mic.attach(stream);
    return { mic, track: stream.tracks[0] as FakeTrack, changes };
  }

  it("takes the track off the sender between holds (a disabled track still sends RTP)", async () => {
    const { mic, track } = live();
    const sender = new FakeSender();
    mic.setPushToTalkOpen(false);
    await mic.send(sender);
    mic.goLive();
    await flush();
    // Put on for the connect, off again as soon as the call is live: before any RTP can flow.
    expect(sender.replaced).toEqual([track, null]);
    expect(track.enabled).toBe(false);
    expect(mic.state).toEqual({ muted: false, live: false });
    mic.setMuted(false);
    expect(track.enabled).toBe(false);
    mic.setPushToTalkOpen(true);
    await flush();
    expect(sender.replaced.at(-1)).toBe(track);
    expect(track.enabled).toBe(true);
    expect(mic.state).toEqual({ muted: false, live: true });
    mic.setPushToTalkOpen(false);
    await flush();
    expect(sender.replaced).toEqual([track, null, track, null]);
    expect(track.enabled).toBe(false);
  });

  it("keeps an aggressive strategy's detachment while the assistant speaks during a hold", async () => {
    const mic = new Microphone({ strategy: "aggressive", onChange: () => {}, onProblem: () => {} });
    const stream = new FakeStream();
    mic.attach(stream);
    const track = stream.tracks[0];
    const sender = new FakeSender();
    await mic.send(sender);
    mic.goLive();
    mic.setPushToTalkOpen(false);
    mic.setAssistantSpeaking(true);
    mic.setPushToTalkOpen(true);
    await flush();
    expect(sender.replaced.at(-1)).toBeNull();
    mic.setAssistantSpeaking(false);
    await flush();
    expect(sender.replaced.at(-1)).toBe(track);
    expect(mic.state.live).toBe(true);
  });

  it("stays muted while held when the user muted", async () => {
    const { mic, track } = live();
    await mic.send(new FakeSender());
    mic.goLive();
    mic.setMuted(true);
    mic.setPushToTalkOpen(true);
    expect(track.enabled).toBe(false);
    expect(mic.state).toEqual({ muted: true, live: false });
  });

  it("drives the session microphone from a PushToTalk controller", async () => {
    const { mic, track } = live();
    await mic.send(new FakeSender());
    mic.goLive();
    const sent: string[] = [];
    let now = 0;
    const ptt = new PushToTalk({
      send: (event) => sent.push(event.type),
      setMicOpen: (open) => mic.setPushToTalkOpen(open),
      now: () => now,
    });
    expect(track.enabled).toBe(false);
    ptt.press();
    expect(mic.state.live).toBe(true);
    now += 1000;
    ptt.release();
    expect(mic.state.live).toBe(false);
    expect(sent).toEqual([
      "input_audio_buffer.clear",
      "input_audio_buffer.commit",
      "response.create",
    ]);
  });
});

describe("microphone constraints", () => {
  async function requested(audioConstraints?: MediaTrackConstraints | boolean) {
    const asked: unknown[] = [];
    const mic = new Microphone({ strategy: "standard", onChange: () => {}, onProblem: () => {} });
    await mic.acquire(
      {
        audioConstraints,
        getUserMedia: async (constraints) => {
          asked.push(constraints);
          return new FakeStream();
        },
      },
      () => {},
    );
    return asked;
  }

  const voice = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

  it("asks for echo cancellation, noise suppression and auto gain by default", async () => {
    expect(await requested()).toEqual([{ audio: voice }]);
    expect(await requested(true)).toEqual([{ audio: voice }]);
  });

  it("keeps them when the caller picks a device, and lets the caller turn one off", async () => {
    expect(await requested({ deviceId: { exact: "usb-mic" } })).toEqual([
      { audio: { ...voice, deviceId: { exact: "usb-mic" } } },
    ]);
    expect(await requested({ autoGainControl: false })).toEqual([
      { audio: { ...voice, autoGainControl: false } },
    ]);
  });

  it("asks the session's own getUserMedia for them", async () => {
    const asked: unknown[] = [];
    await connected({
      getUserMedia: async (constraints) => {
        asked.push(constraints);
        return new FakeStream();
      },
    });
    expect(asked).toEqual([{ audio: voice }]);
  });
});

describe("permissionGranted", () => {
  it("is true only for a granted microphone permission, false when it cannot tell", async () => {
    for (const [permissions, expected] of [
      [{ query: async () => ({ state: "granted" }) }, true],
      [{ query: async () => ({ state: "prompt" }) }, false],
      [{ query: async () => ({ state: "denied" }) }, false],
      [{ query: () => Promise.reject(new TypeError("unknown permission")) }, false],
      [undefined, false],
    ] as const) {
      vi.stubGlobal("navigator", { permissions });
      expect(await permissionGranted()).toBe(expected);
    }
    vi.unstubAllGlobals();
  });
});

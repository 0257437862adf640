import { describe, expect, it, vi } from "vitest";
import { Microphone, MicrophonePermission } from "../src/realtime/microphone";
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

describe("MicrophonePermission", () => {
  const answering = (state: PermissionState | Error) => {
    const asked: string[] = [];
    const permissions = {
      query: async (descriptor: { name: PermissionName }) => {
        asked.push(descriptor.name);
        if (state instanceof Error) throw state;
        return { state };
      },
    };
    return { permissions, asked };
  };

  it("is true only for a granted microphone permission, false when it cannot tell", async () => {
    for (const [state, expected] of [
      ["granted", true],
      ["prompt", false],
      ["denied", false],
      [new TypeError("unknown permission"), false],
    ] as const) {
      const { permissions, asked } = answering(state);
      expect(await new MicrophonePermission(() => permissions).granted()).toBe(expected);
      expect(asked).toEqual(["microphone"]);
    }
    expect(await new MicrophonePermission(() => undefined).granted()).toBe(false);
  });

  it("tells without waiting once the browser answered, following its live status", async () => {
    const status: { state: PermissionState } = { state: "denied" };
    const permission = new MicrophonePermission(() => ({ query: async () => status }));
    expect(permission.grantedNow()).toBeNull();
    expect(await permission.granted()).toBe(false);
    expect(permission.grantedNow()).toBe(false);
    status.state = "granted"; // allowed in the site settings: the browser updates the status
    expect(permission.grantedNow()).toBe(true);
  });

  it("defaults to navigator.permissions, read when first asked", async () => {
    const { permissions, asked } = answering("granted");
    const permission = new MicrophonePermission();
    vi.stubGlobal("navigator", { permissions });
    try {
      expect(await permission.granted()).toBe(true);
      expect(asked).toEqual(["microphone"]);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("asks the browser once, then reads the status it answered with, which the browser keeps current", async () => {
    const status: { state: PermissionState } = { state: "granted" };
    let queries = 0;
    const permission = new MicrophonePermission(() => ({
      query: async () => {
        queries++;
        return status;
      },
    }));
    const [first, second] = await Promise.all([permission.granted(), permission.granted()]);
    expect([first, second, await permission.granted()]).toEqual([true, true, true]);
    status.state = "denied"; // revoked in the site settings
    expect(await permission.granted()).toBe(false);
    status.state = "granted";
    expect(await permission.granted()).toBe(true);
    expect(queries).toBe(1);
  });

  it("asks again after a query that failed or found no Permissions API", async () => {
    const answers: Array<PermissionState | Error> = [new TypeError("busy"), "granted"];
    let queries = 0;
    let api = false;
    const permission = new MicrophonePermission(() =>
      api
        ? {
            query: async () => {
              queries++;
              const answer = answers.shift() ?? "granted";
              if (answer instanceof Error) throw answer;
              return { state: answer };
            },
          }
        : undefined,
    );
    expect(await permission.granted()).toBe(false);
    api = true;
    expect(await permission.granted()).toBe(false);
    expect(await permission.granted()).toBe(true);
    expect(await permission.granted()).toBe(true);
    expect(queries).toBe(2);
  });
});

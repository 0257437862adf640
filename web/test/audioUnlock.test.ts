import { describe, expect, it } from "vitest";
import { type AudioPlayback, AudioUnlock } from "../src/realtime/audioUnlock";
import { deferred, flush } from "./fakes";

/** An audio element whose play() calls each return a promise the test settles. */
class FakeAudio {
  srcObject: unknown = null;
  readonly plays: ReturnType<typeof deferred<void>>[] = [];
  throwOnPlay: Error | null = null;

  play(): Promise<void> {
    if (this.throwOnPlay) throw this.throwOnPlay;
    const play = deferred<void>();
    this.plays.push(play);
    return play.promise;
  }

  settle(index: number, outcome: "resolve" | DOMException): void {
    const play = this.plays[index];
    if (!play) throw new Error(`no play() #${index}`);
    if (outcome === "resolve") play.resolve();
    else play.reject(outcome);
  }
}

const notAllowed = () =>
  new DOMException("play() failed because the user didn't interact", "NotAllowedError");

function setup() {
  const audio = new FakeAudio();
  const states: AudioPlayback["status"][] = [];
  const unlock = new AudioUnlock(audio, (state) => states.push(state.status));
  return { audio, unlock, states };
}

describe("AudioUnlock", () => {
  it("plays the element synchronously, inside the gesture that called it", () => {
    const { audio, unlock } = setup();
    void unlock.unlock();
    expect(audio.plays).toHaveLength(1);
    expect(unlock.state).toEqual({ status: "starting" });
  });

  it("reports playing once the gesture's play() starts with the stream attached later", async () => {
    const { audio, unlock, states } = setup();
    const settled = unlock.unlock();
    audio.srcObject = "remote stream";
    audio.settle(0, "resolve");
    expect(await settled).toEqual({ status: "playing" });
    expect(states).toEqual(["starting", "playing"]);
  });

  it("reports blocked when the autoplay policy refuses, and plays from the tap control", async () => {
    const { audio, unlock, states } = setup();
    void unlock.unlock();
    audio.srcObject = "remote stream";
    const afterTrack = unlock.play();
    audio.settle(0, notAllowed());
    audio.settle(1, notAllowed());
    expect(await afterTrack).toEqual({ status: "blocked" });

    const tapped = unlock.play();
    audio.settle(2, "resolve");
    expect(await tapped).toEqual({ status: "playing" });
    expect(states).toEqual(["starting", "blocked", "starting", "playing"]);
  });

  it("lets only the latest attempt's refusal count", async () => {
    const { audio, unlock } = setup();
    void unlock.unlock();
    const second = unlock.play();
    audio.settle(1, "resolve");
    await second;
    audio.settle(0, notAllowed());
    await flush();
    expect(unlock.state).toEqual({ status: "playing" });
  });

  it("does not call an element without a source failed, nor an interrupted play()", async () => {
    const { audio, unlock } = setup();
    const first = unlock.unlock();
    audio.settle(0, new DOMException("The operation is not supported.", "NotSupportedError"));
    expect(await first).toEqual({ status: "starting" });
    const second = unlock.play();
    audio.settle(1, new DOMException("interrupted by a new load request", "AbortError"));
    expect(await second).toEqual({ status: "starting" });
  });

  it("reports any other failure with a source, and a play() that throws", async () => {
    const { audio, unlock } = setup();
    const played = unlock.play();
    audio.settle(0, new DOMException("no supported source", "NotSupportedError"));
    expect(await played).toEqual({ status: "failed", message: "no supported source" });
    audio.throwOnPlay = new TypeError("detached");
    expect(await unlock.play()).toEqual({ status: "failed", message: "detached" });
  });

  it("ignores outcomes after dispose", async () => {
    const { audio, unlock, states } = setup();
    void unlock.unlock();
    unlock.dispose();
    unlock.dispose();
    audio.settle(0, notAllowed());
    await flush();
    expect(await unlock.play()).toEqual({ status: "starting" });
    expect(audio.plays).toHaveLength(1);
    expect(states).toEqual(["starting"]);
  });
});

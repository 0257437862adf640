/**
 * The floor for `npm run bench:connect` (served with reference.html by the bench, never by
 * Hosting): the least a page can do to reach `session.created` with a client secret it was
 * handed. getUserMedia, one RTCPeerConnection with one sendrecv audio transceiver and the
 * `oai-events` data channel, the SDP POST, then wait for `session.created`. No Firebase, no
 * token fetch, no level meter, no audio element.
 *
 * Query: `?secret=ek_…&calls=http://127.0.0.1:8790/v1/realtime/calls`. It shows the same
 * elements the app does for the bench: `#connect`, `#disconnect`, `#state[data-state]`,
 * `#session-id[data-created]` and `#connect-timings` (JSON, ms after the click, rounded like
 * the app's `ConnectTimings`, with the same meaning for `iceConnected`: the first of
 * `iceConnectionState` or `connectionState` reaching connected).
 *
 * Compiled by the bench at run time with TypeScript's `transpileModule` (no bundler).
 */

import type { ConnectTimings } from "../web/src/realtime/timings.js";

/** The app's timing fields, minus the secret (handed in here). */
type ReferenceTimings = Omit<ConnectTimings, "token">;

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`reference.html has no #${id}`);
  return found;
}

const params = new URLSearchParams(location.search);
const secret = params.get("secret") ?? "";
const callsUrl = params.get("calls") ?? "";

const connectButton = element("connect", HTMLButtonElement);
const disconnectButton = element("disconnect", HTMLButtonElement);
const stateView = element("state", HTMLElement);
const sessionView = element("session-id", HTMLElement);
const timingsView = element("connect-timings", HTMLPreElement);
const errorView = element("error", HTMLElement);

let peer: RTCPeerConnection | null = null;
let microphone: MediaStream | null = null;

function setState(state: "idle" | "connecting" | "connected" | "failed"): void {
  stateView.dataset.state = state;
  stateView.textContent = state;
}

async function connect(): Promise<void> {
  const startedAt = performance.now();
  connectButton.disabled = true;
  setState("connecting");
  const timings: ReferenceTimings = {};
  const mark = (step: keyof ReferenceTimings): void => {
    if (timings[step] !== undefined) return;
    timings[step] = Math.round(performance.now() - startedAt);
    timingsView.textContent = JSON.stringify(timings);
  };

  microphone = await navigator.mediaDevices.getUserMedia({
    // The app's constraints (Chromium's defaults anyway).
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  mark("microphone");
  const track = microphone.getAudioTracks()[0];
  if (track === undefined) throw new Error("The microphone stream has no audio track.");

  const pc = new RTCPeerConnection();
  peer = pc;
  const onConnected = (state: string) => {
    if (state === "connected" || state === "completed") mark("iceConnected");
  };
  pc.addEventListener("iceconnectionstatechange", () => onConnected(pc.iceConnectionState));
  pc.addEventListener("connectionstatechange", () => onConnected(pc.connectionState));
  pc.addTransceiver(track, { direction: "sendrecv", streams: [microphone] });

  const channel = pc.createDataChannel("oai-events");
  const created = new Promise<string>((resolve) => {
    channel.addEventListener("open", () => mark("channelOpen"));
    channel.addEventListener("message", (event: MessageEvent<unknown>) => {
      if (typeof event.data !== "string") return;
      const parsed = JSON.parse(event.data) as { type?: string; session?: { id?: string } };
      if (parsed.type !== "session.created") return;
      mark("sessionCreated");
      resolve(parsed.session?.id ?? "created");
    });
  });

  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  mark("offer");

  const response = await fetch(callsUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/sdp" },
    body: offer.sdp ?? "",
  });
  const answer = await response.text();
  if (!response.ok) throw new Error(`The calls endpoint answered ${response.status}: ${answer}`);
  mark("sdpAnswer");
  await pc.setRemoteDescription({ type: "answer", sdp: answer });

  const sessionId = await created;
  sessionView.textContent = sessionId;
  sessionView.dataset.created = "true";
  setState("connected");
}

function disconnect(): void {
  peer?.close();
  peer = null;
  for (const track of microphone?.getTracks() ?? []) track.stop();
  microphone = null;
  setState("idle");
}

connectButton.addEventListener("click", () => {
  connect().catch((error: unknown) => {
    errorView.textContent = error instanceof Error ? error.message : String(error);
    setState("failed");
  });
});
disconnectButton.addEventListener("click", disconnect);
window.addEventListener("pagehide", disconnect);

if (secret === "" || callsUrl === "") {
  errorView.textContent = "Needs ?secret=ek_…&calls=<calls URL>.";
} else {
  connectButton.disabled = false;
}

export {};

/**
 * Injected by `npm run bench:connect` into every page it measures (the app and the reference
 * page alike, as an init script, compiled at run time with TypeScript's `transpileModule`), so
 * that all variants carry the same instrumentation:
 *
 * - `click`: `performance.now()` when the click on `#connect` reaches the window (capture
 *   phase, before any page handler runs);
 * - then, in ms after that click: `micRequested` (the page called getUserMedia),
 *   `iceConnected` (`iceConnectionState` connected), `dtlsConnected` (`connectionState`
 *   connected: ICE and DTLS), `channelOpen` and `sessionCreated` (the first `session.created`
 *   message on the data channel, or GPT-Live's `session.started`; this listener runs before
 *   the page's own, which are added after `createDataChannel` returns).
 *
 * Results are in `window.__connectProbe`.
 */

interface ConnectProbe {
  click?: number;
  micRequested?: number;
  iceConnected?: number;
  dtlsConnected?: number;
  channelOpen?: number;
  sessionCreated?: number;
}

const probe: ConnectProbe = {};
Object.assign(window, { __connectProbe: probe });

window.addEventListener(
  "click",
  (event) => {
    if (probe.click === undefined && event.target instanceof Element) {
      if (event.target.closest("#connect") !== null) probe.click = performance.now();
    }
  },
  { capture: true },
);

const sinceClick = (): number =>
  probe.click === undefined ? -1 : Math.round((performance.now() - probe.click) * 10) / 10;

const media = navigator.mediaDevices;
const getUserMedia = media.getUserMedia.bind(media);
media.getUserMedia = (constraints?: MediaStreamConstraints) => {
  probe.micRequested ??= sinceClick();
  return getUserMedia(constraints);
};

const createDataChannel = RTCPeerConnection.prototype.createDataChannel;
RTCPeerConnection.prototype.createDataChannel = function (
  this: RTCPeerConnection,
  ...args: Parameters<RTCPeerConnection["createDataChannel"]>
): RTCDataChannel {
  const channel = createDataChannel.apply(this, args);
  this.addEventListener("iceconnectionstatechange", () => {
    const state = this.iceConnectionState;
    if (state === "connected" || state === "completed") probe.iceConnected ??= sinceClick();
  });
  this.addEventListener("connectionstatechange", () => {
    if (this.connectionState === "connected") probe.dtlsConnected ??= sinceClick();
  });
  channel.addEventListener("open", () => {
    probe.channelOpen ??= sinceClick();
  });
  const onMessage = (event: MessageEvent<unknown>) => {
    const data = event.data;
    if (typeof data !== "string") return;
    if (!data.includes("session.created") && !data.includes("session.started")) return;
    try {
      const type = (JSON.parse(data) as { type?: unknown }).type;
      if (type !== "session.created" && type !== "session.started") return;
    } catch {
      return;
    }
    probe.sessionCreated ??= sinceClick();
    channel.removeEventListener("message", onMessage);
  };
  channel.addEventListener("message", onMessage);
  return channel;
};

export type { ConnectProbe };

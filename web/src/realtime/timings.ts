/*
 * The connect steps whose timing `RealtimeSession` records. No imports, so the benches
 * (e2e/bench-connect.ts, e2e/reference.ts) can import the type under any module setting.
 */

/** The steps of `connect()`, in the order they usually finish. */
export type ConnectStep =
  | "microphone"
  | "token"
  | "offer"
  | "offerSent"
  | "sdpAnswer"
  | "iceConnected"
  | "channelOpen"
  | "sessionCreated";

/** Milliseconds from the start of `connect()` to each step; absent until it happens. */
export type ConnectTimings = Partial<Record<ConnectStep, number>>;

/**
 * What the brokered-call functions share: their settings, the Firestore minute store they all
 * write to, and the name of the deadline task function. Both `realtimeCall.ts` (the callables)
 * and `hangupTask.ts` (the deadline task) wire from here, so that neither imports the other.
 *
 * Firestore is loaded on the first call that needs the store, never at import: deploy-time
 * discovery touches no Firestore, and a cold instance pays for the client only when used.
 */
import { readRawSettings, readRawVoiceSettings } from "./config";
import type { Log } from "./guards";
import type { HangupQueue } from "./hangupQueue";
import type { MinuteStore } from "./minuteStore";
import { resolveSettings, type Settings } from "./settings";
import type { BrokeredUpstream } from "./upstream";
import type { MediaSessionConfig } from "openai/resources/live/live";
import type { VoiceApi } from "voice-contract";
import { resolveVoiceSettings, type VoiceSettings } from "./voiceSettings";
import type * as FirestoreModule from "firebase-admin/firestore";
import type * as MinuteStoreModule from "./minuteStore";

/** Everything a brokered function reads from params. */
export interface BrokeredSettings extends Settings {
  voice: VoiceSettings;
}

/** The name of the deadline task function (hangupTask.ts), for its queue. */
export const HANGUP_FUNCTION = "hangUpRealtimeCall";

/** Settings of the brokered functions. Throws a `ConfigError` naming a bad param. */
export function brokeredSettings(): BrokeredSettings {
  return {
    ...resolveSettings(readRawSettings()),
    voice: resolveVoiceSettings(readRawVoiceSettings()),
  };
}

/** What the brokered callables touch; tests pass fakes (test/realtimeCall.test.ts). */
export interface BrokeredDeps {
  settings: () => BrokeredSettings;
  apiKey: () => string;
  store: () => MinuteStore;
  upstream: (apiKey: string) => BrokeredUpstream;
  /** The GPT-Live upstream, for calls whose api is `live` (BROKERED_APIS). */
  liveUpstream: (apiKey: string) => BrokeredUpstream<MediaSessionConfig>;
  queue: () => HangupQueue;
  now?: () => number;
  log?: Log;
}

/** {@link BrokeredDeps} with the defaults filled in, as the callables' steps take them. */
export type BrokeredWorld = Required<BrokeredDeps>;

/** The upstream a call on `api` was opened on, to end it there. */
export function upstreamOf(
  world: Pick<BrokeredDeps, "upstream" | "liveUpstream">,
  apiKey: string,
  api: VoiceApi,
): BrokeredUpstream<unknown> {
  return api === "live" ? world.liveUpstream(apiKey) : world.upstream(apiKey);
}

let store: MinuteStore | undefined;

/** The Firestore minute store, loaded on first use (as realtimeToken loads its store). */
export function minuteStore(): MinuteStore {
  if (store !== undefined) return store;
  /* eslint-disable @typescript-eslint/no-require-imports */
  const firestore = require("firebase-admin/firestore") as typeof FirestoreModule;
  // Loads the client's gRPC layer and protos now, so that the first call's deadline measures
  // Firestore's answer, not this instance reading its own code.
  const gapic: unknown = firestore.v1;
  void gapic;
  const { createMinuteStore } = require("./minuteStore") as typeof MinuteStoreModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  store = createMinuteStore(firestore.getFirestore(), {
    timeoutMs: resolveSettings(readRawSettings()).firestoreTimeoutMs,
  });
  return store;
}

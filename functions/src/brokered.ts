/**
 * What the brokered-call functions share: their settings, the Firestore minute store they all
 * write to, and the name of the deadline task function. Both `realtimeCall.ts` (the callables)
 * and `hangupTask.ts` (the deadline task) wire from here, so that neither imports the other.
 *
 * Firestore is loaded on the first call that needs the store, never at import: deploy-time
 * discovery touches no Firestore, and a cold instance pays for the client only when used.
 */
import { readRawSettings, readRawVoiceSettings } from "./config";
import { cloudLog, type Log, misconfigured } from "./guards";
import type { MinuteStore } from "./minuteStore";
import { resolveSettings, type Settings } from "./settings";
import { resolveVoiceSettings, VoiceConfigError, type VoiceSettings } from "./voiceSettings";
import type * as FirestoreModule from "firebase-admin/firestore";
import type * as MinuteStoreModule from "./minuteStore";

/** Everything a brokered function reads from params. */
export interface BrokeredSettings extends Settings {
  voice: VoiceSettings;
}

/** The name of the deadline task function (hangupTask.ts), for its queue. */
export const HANGUP_FUNCTION = "hangUpRealtimeCall";

/** Settings of the brokered functions; a bad param → logged with its name, `internal`. */
export function brokeredSettings(callable: string, log: Log = cloudLog): BrokeredSettings {
  const base = resolveSettings(readRawSettings());
  try {
    return { ...base, voice: resolveVoiceSettings(readRawVoiceSettings()) };
  } catch (error) {
    if (error instanceof VoiceConfigError) {
      log.error("realtime_call_config", { param: error.param, problem: error.message });
      throw misconfigured(callable);
    }
    throw error;
  }
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

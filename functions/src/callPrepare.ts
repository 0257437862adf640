/**
 * `realtimeCall`'s second verb, `{ prepare: true }`: the caller's minutes and what a call
 * would run, and nothing held or opened. It rides on `realtimeCall`'s URL on purpose: the
 * page sends it on load, so that the browser's CORS preflight answer (preflight.ts) and a warm
 * instance are there for the click's call. It is also where a user's stranded reservations
 * (minuteStore.ts `settleStranded`) are handed back, before the minutes are read.
 */
import type { BrokeredSettings, BrokeredWorld } from "./brokered";
import { toVoiceMinutes } from "./callRequests";
import type { RealtimeCallPrepared } from "voice-contract";
import { storeUnavailable } from "./guards";
import { bestEffort } from "./pipeline";
import { describeChoices } from "./session";

/** Prepares `uid`'s call: settles stranded reservations, then reads the minutes left. */
export async function prepareCall(
  uid: string,
  settings: BrokeredSettings,
  world: Pick<BrokeredWorld, "store" | "log">,
  event: string,
): Promise<RealtimeCallPrepared> {
  const store = world.store();
  // Best effort: a sweep that fails is tried again on the next visit, and costs no answer.
  await bestEffort(world.log, `${event}_sweep_failed`, { uid }, async () => {
    const settled = await store.settleStranded(uid);
    if (settled > 0) world.log.info(`${event}_stranded_settled`, { uid, settled });
  });
  const left = await store.remaining(uid, settings.voice.limits).catch((error: unknown) => {
    throw storeUnavailable(world.log, event, { uid, stage: "prepare" }, error);
  });
  return {
    prepared: true,
    minutes: toVoiceMinutes(left),
    maxCallSeconds: settings.voice.limits.maxCallSeconds,
    model: settings.server.model,
    apis: [...settings.voice.apis],
    choices: describeChoices(settings.choices),
  };
}

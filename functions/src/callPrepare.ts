/**
 * `realtimeCall`'s second verb, `{ prepare: true }`: the caller's minutes and what a call
 * would run, and nothing held or opened. It rides on `realtimeCall`'s URL on purpose: the
 * page sends it on load, so that the browser's CORS preflight answer (preflight.ts) and a warm
 * instance are there for the click's call.
 */
import type { BrokeredSettings, BrokeredWorld } from "./brokered";
import { toVoiceMinutes } from "./callRequests";
import type { RealtimeCallPrepared } from "voice-contract";
import { storeUnavailable } from "./guards";
import { describeChoices } from "./session";

/** Prepares `uid`'s call: reads the minutes left. */
export async function prepareCall(
  uid: string,
  settings: BrokeredSettings,
  world: Pick<BrokeredWorld, "store" | "log">,
  event: string,
): Promise<RealtimeCallPrepared> {
  const left = await world
    .store()
    .remaining(uid, settings.voice.limits)
    .catch((error: unknown) => {
      throw storeUnavailable(world.log, event, { uid, stage: "prepare" }, error);
    });
  return {
    prepared: true,
    minutes: toVoiceMinutes(left),
    maxCallSeconds: settings.voice.limits.maxCallSeconds,
    model: settings.server.model,
    choices: describeChoices(settings.choices),
  };
}

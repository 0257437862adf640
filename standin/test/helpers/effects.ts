import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import type { Effect } from "../../src/effects.js";

/** The events among effects, in order. */
export const events = (effects: Effect[]) =>
  effects.flatMap((e) => (e.kind === "send" ? [e.event] : []));

/** Each effect's event type, or `[kind]` for an audio effect. */
export const types = (effects: Effect[]) =>
  effects.map((e) => (e.kind === "send" ? e.event.type : `[${e.kind}]`));

/** The first event of `type`; throws (naming what there was) when there is none. */
export function find<T extends RealtimeServerEvent["type"]>(effects: Effect[], type: T) {
  const event = events(effects).find((e) => e.type === type);
  if (!event) throw new Error(`no ${type} in ${types(effects).join(", ")}`);
  return event as Extract<RealtimeServerEvent, { type: T }>;
}

/**
 * The callables' results as schemas, for checking them where they cross the network into the
 * client. Each schema's output is exactly its interface (test/schemas.test.ts checks it), so
 * a checked result needs no cast. The brokered calls' schemas are in callSchemas.ts, so that a
 * page that only mints does not load them.
 */
import * as v from "valibot";
import type { VoiceMinutes } from "./minutes.js";
import {
  NOISE_REDUCTIONS,
  OUTPUT_MODALITIES,
  TURN_DETECTIONS,
  VAD_EAGERNESS,
  type CallSession,
  type SessionChoiceOptions,
} from "./choices.js";
import type { RealtimeTokenResponse } from "./token.js";

/** An instant (epoch ms) or any other finite number. */
export const finite = v.pipe(v.number(), v.finite());
/** A duration or a count: finite, not negative. */
export const count = v.pipe(v.number(), v.finite(), v.minValue(0));

export const VoiceMinutesSchema = v.object({
  daySeconds: count,
  dayResetsAtMs: finite,
  monthSeconds: v.nullable(count),
  monthResetsAtMs: v.nullable(finite),
  readAtMs: finite,
}) satisfies v.GenericSchema<unknown, VoiceMinutes>;

export const CallSessionSchema = v.object({
  voice: v.string(),
  outputModality: v.picklist(OUTPUT_MODALITIES),
  language: v.nullable(v.string()),
  transcription: v.boolean(),
  noiseReduction: v.picklist(NOISE_REDUCTIONS),
  turnDetection: v.picklist(TURN_DETECTIONS),
  eagerness: v.nullable(v.picklist(VAD_EAGERNESS)),
}) satisfies v.GenericSchema<unknown, CallSession>;

export const SessionChoiceOptionsSchema = v.object({
  voices: v.array(v.string()),
  languages: v.array(v.string()),
  outputModalities: v.array(v.picklist(OUTPUT_MODALITIES)),
  noiseReductions: v.array(v.picklist(NOISE_REDUCTIONS)),
  turnDetections: v.array(v.picklist(TURN_DETECTIONS)),
  eagerness: v.array(v.picklist(VAD_EAGERNESS)),
  defaults: v.object({
    voice: v.string(),
    noiseReduction: v.picklist(NOISE_REDUCTIONS),
    turnDetection: v.picklist(TURN_DETECTIONS),
    eagerness: v.picklist(VAD_EAGERNESS),
  }),
}) satisfies v.GenericSchema<unknown, SessionChoiceOptions>;

export const RealtimeTokenResponseSchema = v.object({
  token: v.pipe(v.string(), v.nonEmpty()),
  expiresAtMs: finite,
  model: v.string(),
  session: CallSessionSchema,
  quota: v.object({ limit: count, remaining: count, resetsAtMs: finite }),
  choices: SessionChoiceOptionsSchema,
}) satisfies v.GenericSchema<unknown, RealtimeTokenResponse>;

/** A result checked against its schema: the value, or what was wrong with it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Checks `data` against `schema`. `problem` names the first field that is missing or wrong
 * (`no token`, `no minutes.daySeconds`), or says `not an object`; never a value, so no secret
 * or SDP reaches a message.
 */
export function checkResponse<T>(schema: v.GenericSchema<unknown, T>, data: unknown): Checked<T> {
  const result = v.safeParse(schema, data);
  if (result.success) return { ok: true, value: result.output };
  const path = v.getDotPath(result.issues[0]);
  return { ok: false, problem: path === null || path === "" ? "not an object" : `no ${path}` };
}

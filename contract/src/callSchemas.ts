/** The brokered callables' results as schemas (see schemas.ts). */
import * as v from "valibot";
import { VOICE_APIS } from "./live.js";
import { MINUTE_LIMIT_REASONS } from "./minutes.js";
import type {
  EndRealtimeCallResponse,
  RealtimeCallPrepared,
  RealtimeCallResponse,
} from "./call.js";
import {
  CallSessionSchema,
  count,
  finite,
  SessionChoiceOptionsSchema,
  VoiceMinutesSchema,
} from "./schemas.js";

export const RealtimeCallResponseSchema = v.object({
  answer: v.pipe(v.string(), v.startsWith("v=")),
  callId: v.pipe(v.string(), v.nonEmpty()),
  api: v.picklist(VOICE_APIS),
  endsAtMs: finite,
  sliceSeconds: count,
  model: v.string(),
  session: CallSessionSchema,
  minutes: VoiceMinutesSchema,
  limitedBy: v.picklist(["call", ...MINUTE_LIMIT_REASONS]),
  choices: SessionChoiceOptionsSchema,
}) satisfies v.GenericSchema<unknown, RealtimeCallResponse>;

export const RealtimeCallPreparedSchema = v.object({
  prepared: v.literal(true),
  minutes: VoiceMinutesSchema,
  maxCallSeconds: count,
  model: v.string(),
  apis: v.pipe(v.array(v.picklist(VOICE_APIS)), v.minLength(1)),
  choices: SessionChoiceOptionsSchema,
}) satisfies v.GenericSchema<unknown, RealtimeCallPrepared>;

export const EndRealtimeCallResponseSchema = v.object({
  outcome: v.picklist(["ended", "already-ended"]),
  usedSeconds: v.nullable(count),
  minutes: VoiceMinutesSchema,
}) satisfies v.GenericSchema<unknown, EndRealtimeCallResponse>;

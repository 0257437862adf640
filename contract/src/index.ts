/**
 * The wire contract of the voice callables, shared by the functions and the web client:
 * what each callable takes and returns (`realtimeToken`, `realtimeCall` and its `prepare`
 * verb, `endRealtimeCall`), why it refuses, the choice vocabularies, and the results' schemas.
 *
 * Units: instants are epoch milliseconds and end in `AtMs`; durations are whole seconds and
 * end in `Seconds`.
 */
export * from "./call.js";
export * from "./callSchemas.js";
export * from "./choices.js";
export * from "./minutes.js";
export * from "./record.js";
export * from "./refusals.js";
export {
  CallSessionSchema,
  checkResponse,
  RealtimeTokenResponseSchema,
  SessionChoiceOptionsSchema,
  VoiceMinutesSchema,
  type Checked,
} from "./schemas.js";
export * from "./token.js";
export * from "./live.js";
export * from "./usage.js";
export * from "./prices.js";

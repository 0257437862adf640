/**
 * The voice APIs a brokered call can run on, and what a GPT-Live call's page may send.
 *
 * `realtime`: OpenAI's Realtime API (`POST /v1/realtime/calls`). `live`: GPT-Live
 * (`POST /v1/live/sessions`), which has no client credential at all and lets the server fix
 * which events the page's data channel may send.
 */
export const VOICE_APIS = ["realtime", "live"] as const;
export type VoiceApi = (typeof VOICE_APIS)[number];

/** Whether `value` names a {@link VoiceApi}. */
export function isVoiceApi(value: unknown): value is VoiceApi {
  return typeof value === "string" && (VOICE_APIS as readonly string[]).includes(value);
}

/**
 * `client.data_channel.allowed_client_events` of every Live call the server opens: exactly
 * the events the page sends. Mute and unmute are Live's own (muted input is still billed as
 * active time, so the page's mute is a courtesy, not a saving). Everything else is refused
 * upstream with an `error`: the page cannot append instructions, thinking or commentary,
 * change the delegation (`session.update`), or add items.
 */
export const LIVE_ALLOWED_CLIENT_EVENTS = [
  "session.input_audio.mute",
  "session.input_audio.unmute",
] as const;
export type LiveAllowedClientEvent = (typeof LIVE_ALLOWED_CLIENT_EVENTS)[number];

/**
 * One turn of the conversation so far, which a page reconnecting a dropped Live call sends so
 * the new call continues it (the server passes it to Live's `input` prior-context field).
 * Text only: the transcripts the page showed.
 */
export interface PriorTurn {
  role: "user" | "assistant";
  text: string;
}

/** At most this many {@link PriorTurn}s are accepted (Live takes ≤ 128 input messages). */
export const MAX_PRIOR_TURNS = 64;
/** At most this many characters in all {@link PriorTurn}s together (Live takes ≤ 8,192 tokens). */
export const MAX_PRIOR_CHARS = 16_000;

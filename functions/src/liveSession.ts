/**
 * The GPT-Live session of a brokered call, built on the server from the same allowlisted
 * choices as a Realtime session. Pure.
 *
 * Unlike a Realtime session, what is built here is a lock, not a default: Live fixes the
 * instructions, voice and prior context at start, and `client.data_channel.
 * allowed_client_events` ({@link LIVE_ALLOWED_CLIENT_EVENTS}) is all the page may send; Live
 * answers anything else with an `error` and changes nothing.
 *
 * Live's `MediaSessionConfig` (openai 7.60) has a field for the voice only. Of the other
 * choices:
 * - `language`: no transcription settings; the hint becomes one line of the instructions;
 * - `turnDetection`: Live takes its own turns. `push_to_talk` is kept: the page mutes the input
 *   between holds with the allowed `session.input_audio.mute`/`unmute`; `server_vad` and
 *   `semantic_vad` (and its `eagerness`) are accepted and leave Live's own turn taking;
 * - `noiseReduction`: no field; accepted and not applied (the browser's own noise
 *   suppression still runs);
 * - `outputModality`: Live always speaks; `text` is refused.
 */
import type { InitialItem, MediaSessionConfig } from "openai/resources/live/live";
import { type CallSession, LIVE_ALLOWED_CLIENT_EVENTS, type PriorTurn } from "voice-contract";
import type { SessionChoices } from "./session";

/** The server's side of a Live session (params). */
export interface LiveServerConfig {
  /** LIVE_MODEL. */
  model: string;
  /** REALTIME_INSTRUCTIONS: the same instructions for either upstream. */
  instructions: string;
}

/**
 * A choice a Live call cannot honour, as the field to name and what to fix, or undefined.
 * Only a text-only call is refused; see the module comment for the rest.
 */
export function liveChoiceProblem(
  choices: SessionChoices,
): { field: string; message: string } | undefined {
  if (choices.outputModality !== "audio")
    return {
      field: "outputModality",
      message:
        'A GPT-Live call always speaks: leave outputModality out or send "audio" (text-only calls are Realtime calls).',
    };
  return undefined;
}

/** The `session` of `POST /v1/live/sessions` for these choices. */
export function buildLiveSessionConfig(
  choices: SessionChoices,
  server: LiveServerConfig,
  priorTurns: readonly PriorTurn[],
  safetyIdentifier: string,
): MediaSessionConfig {
  const languageHint =
    choices.language === null
      ? ""
      : `\n\nThe user is expected to speak the language with ISO 639-1 code "${choices.language}".`;
  return {
    model: server.model,
    instructions: `${server.instructions}${languageHint}`,
    audio: { output: { voice: choices.voice } },
    client: { data_channel: { allowed_client_events: [...LIVE_ALLOWED_CLIENT_EVENTS] } },
    // Tasks stay with the application, which has none: the model cannot call out anywhere.
    delegation: { type: "client" },
    store: false,
    safety_identifier: safetyIdentifier,
    ...(priorTurns.length > 0 ? { input: priorTurns.map(initialItem) } : {}),
  };
}

function initialItem(turn: PriorTurn): InitialItem {
  return turn.role === "user"
    ? { type: "message", role: "user", content: [{ type: "input_text", text: turn.text }] }
    : { type: "message", role: "assistant", content: [{ type: "output_text", text: turn.text }] };
}

/**
 * What the page is told about its Live session: the choices as accepted. Live transcribes
 * both sides itself, so `transcription` is always true.
 */
export function describeLiveSession(choices: SessionChoices): CallSession {
  return { ...choices, transcription: true };
}

/**
 * The turn-taking and noise pickers as data: which options to offer from the server's
 * `choices`, and what the picked values add to a `realtimeToken` / `realtimeCall` request.
 * Pure; `talkControls.ts` puts it on the page.
 */
import type {
  NoiseReduction,
  CallChoices,
  SessionChoiceOptions,
  TurnDetection,
  VadEagerness,
} from "voice-contract";

/** What the pickers show; `""` is "the server's default". */
export interface TalkSelection {
  turnDetection: TurnDetection | "";
  eagerness: VadEagerness | "";
  noiseReduction: NoiseReduction | "";
}

/** The part of a request the pickers decide. */
export type TalkRequest = Pick<CallChoices, "turnDetection" | "eagerness" | "noiseReduction">;

/** One `<option>`. */
export interface PickerOption {
  value: string;
  label: string;
}

export const TURN_DETECTION_LABELS: Record<TurnDetection, string> = {
  server_vad: "Voice activity (pause to send)",
  semantic_vad: "Semantic (knows when you're done)",
  push_to_talk: "Push to talk (hold to speak)",
};

export const EAGERNESS_LABELS: Record<VadEagerness, string> = {
  low: "Low (lets you think)",
  medium: "Medium",
  high: "High (answers quickly)",
  auto: "Auto",
};

export const NOISE_REDUCTION_LABELS: Record<NoiseReduction, string> = {
  near_field: "Near field (headset, close mic)",
  far_field: "Far field (laptop or room mic)",
  off: "Off",
};

/**
 * The turn detection the session will get: the picked one, or the server's default (unknown
 * until the server has answered once).
 */
export function effectiveTurnDetection(
  selection: TalkSelection,
  defaults: SessionChoiceOptions["defaults"] | null,
): TurnDetection | null {
  return selection.turnDetection || defaults?.turnDetection || null;
}

/** Whether the eagerness picker means anything: only semantic VAD has an eagerness. */
export function eagernessApplies(
  selection: TalkSelection,
  defaults: SessionChoiceOptions["defaults"] | null,
): boolean {
  return effectiveTurnDetection(selection, defaults) === "semantic_vad";
}

/**
 * The request fields for a selection. Defaults are left out (the server fills them in), and
 * an eagerness only goes with semantic VAD: the server refuses it with anything else.
 */
export function talkRequest(
  selection: TalkSelection,
  defaults: SessionChoiceOptions["defaults"] | null,
): TalkRequest {
  const request: TalkRequest = {};
  if (selection.turnDetection) request.turnDetection = selection.turnDetection;
  if (selection.eagerness && eagernessApplies(selection, defaults)) {
    request.eagerness = selection.eagerness;
  }
  if (selection.noiseReduction) request.noiseReduction = selection.noiseReduction;
  return request;
}

/**
 * "Default: <name>" first, then each allowed value, labelled. The default names its value
 * without the label's explanation: the list shows that, and the closed picker stays short.
 */
export function pickerOptions<T extends string>(
  allowed: readonly T[],
  fallback: T | null,
  labels: Record<T, string>,
): PickerOption[] {
  const defaultLabel =
    fallback === null ? "Default" : `Default: ${labelName(labels[fallback] ?? fallback)}`;
  return [
    { value: "", label: defaultLabel },
    ...allowed.map((value) => ({ value, label: labels[value] ?? value })),
  ];
}

/** "Semantic" of "Semantic (knows when you're done)". */
function labelName(label: string): string {
  const explained = label.indexOf(" (");
  return explained === -1 ? label : label.slice(0, explained);
}

/** The picked value if the server still allows it, else the default (`""`). */
export function keepAllowed<T extends string>(picked: string, allowed: readonly T[]): T | "" {
  return (allowed as readonly string[]).includes(picked) ? (picked as T) : "";
}

/**
 * The turn-taking and noise-reduction pickers, built from the server's `choices`, and the
 * push-to-talk button of a session that has no turn detection. The pickers are part of the
 * first paint; the button's code (`talkButton.ts`) comes with the session code.
 */
import type {
  NoiseReduction,
  CallSession,
  SessionChoiceOptions,
  TurnDetection,
  VadEagerness,
} from "voice-contract";
import type { RealtimeSession, VoiceSession } from "../realtime";
import { byId, setHidden } from "./dom";
import {
  EAGERNESS_LABELS,
  eagernessApplies,
  keepAllowed,
  NOISE_REDUCTION_LABELS,
  pickerOptions,
  talkRequest,
  TURN_DETECTION_LABELS,
  type PickerOption,
  type TalkRequest,
  type TalkSelection,
} from "./talkChoices";

/** What push-to-talk needs of a session. */
export type TalkSession = Pick<RealtimeSession, "send" | "setPushToTalkOpen" | "interrupt"> &
  Pick<VoiceSession, "on">;

/** The push-to-talk button of one session (`TalkButton`). */
export interface TalkButtonLike {
  setEnabled(enabled: boolean): void;
  dispose(): void;
}

/** Makes the button for a push-to-talk session (`live.TalkButton`, loaded lazily). */
export type CreateTalkButton = (button: HTMLButtonElement, session: TalkSession) => TalkButtonLike;

/** One session's link to the controls; see {@link TalkControls.bind}. */
export interface TalkBinding {
  /** The session this binding serves; once, before it connects. */
  attach(session: TalkSession): void;
  /**
   * The server's answer says what the session really got (a left-out choice is the server's
   * default): call it with the `session` of the `realtimeToken` or `realtimeCall` result,
   * before the call goes live, so a push-to-talk microphone never sends before the first hold.
   */
  resolved(session: Pick<CallSession, "turnDetection">): void;
  /** Removes the button; also done when the session closes or another is bound. Idempotent. */
  dispose(): void;
}

/** The pickers and the talk button in `index.html`. */
export class TalkControls {
  readonly #els = {
    turnDetection: byId("turn-detection", HTMLSelectElement),
    eagerness: byId("eagerness", HTMLSelectElement),
    eagernessField: byId("eagerness-field", HTMLElement),
    noiseReduction: byId("noise-reduction", HTMLSelectElement),
    talk: byId("talk", HTMLButtonElement),
    talkHint: byId("talk-hint", HTMLElement),
  };
  #choices: SessionChoiceOptions | null = null;
  #binding: TalkBinding | null = null;

  /**
   * `onChange` runs when the user picks something (e.g. to prefetch a matching secret);
   * `preset` is selected before the server's choices are known.
   */
  constructor(onChange: () => void, preset: TalkRequest = {}) {
    const els = this.#els;
    preselect(els.turnDetection, preset.turnDetection, TURN_DETECTION_LABELS);
    preselect(els.eagerness, preset.eagerness, EAGERNESS_LABELS);
    preselect(els.noiseReduction, preset.noiseReduction, NOISE_REDUCTION_LABELS);
    els.turnDetection.addEventListener("change", () => {
      this.#renderEagerness();
      onChange();
    });
    els.eagerness.addEventListener("change", onChange);
    els.noiseReduction.addEventListener("change", onChange);
    this.#renderEagerness();
  }

  /** Whether the current session is push-to-talk (its talk button is shown). */
  get pushToTalk(): boolean {
    return !this.#els.talk.hidden;
  }

  /** What the pickers add to the next `realtimeToken` / `realtimeCall` request. */
  request(): TalkRequest {
    return talkRequest(this.#selection(), this.#choices?.defaults ?? null);
  }

  /** Rebuilds the pickers from a server answer's `choices`; keeps what is still allowed. */
  renderChoices(choices: SessionChoiceOptions): void {
    // An older backend sends no turn-taking choices: the pickers keep "Default" only.
    if (!Array.isArray(choices.turnDetections) || !choices.defaults) return;
    this.#choices = choices;
    const els = this.#els;
    const { defaults } = choices;
    fill(
      els.turnDetection,
      pickerOptions(choices.turnDetections, defaults.turnDetection, TURN_DETECTION_LABELS),
      keepAllowed(els.turnDetection.value, choices.turnDetections),
    );
    fill(
      els.eagerness,
      pickerOptions(choices.eagerness, defaults.eagerness, EAGERNESS_LABELS),
      keepAllowed(els.eagerness.value, choices.eagerness),
    );
    fill(
      els.noiseReduction,
      pickerOptions(choices.noiseReductions, defaults.noiseReduction, NOISE_REDUCTION_LABELS),
      keepAllowed(els.noiseReduction.value, choices.noiseReductions),
    );
    this.#renderEagerness();
  }

  /** The pickers take effect on the next Connect: locked while a session runs. */
  setBusy(busy: boolean): void {
    const els = this.#els;
    els.turnDetection.disabled = busy;
    els.eagerness.disabled = busy;
    els.noiseReduction.disabled = busy;
  }

  /**
   * Links the next session to the controls (it is made with {@link TalkBinding.attach}), and
   * unlinks the previous one. Once {@link TalkBinding.resolved} says the session is
   * push-to-talk, the button appears (`createButton` makes it), usable while connected; it
   * goes when the session closes.
   */
  bind(createButton: CreateTalkButton): TalkBinding {
    this.#binding?.dispose();
    const els = this.#els;
    let session: TalkSession | null = null;
    let pushToTalk = false;
    let button: TalkButtonLike | null = null;
    let connected = false;
    let disposed = false;
    let unsubscribe = () => {};
    const show = () => {
      if (disposed || button || !session || !pushToTalk) return;
      button = createButton(els.talk, session);
      button.setEnabled(connected);
      setHidden(els.talk, false);
      setHidden(els.talkHint, false);
    };
    const binding: TalkBinding = {
      attach: (attached) => {
        if (disposed || session) return;
        session = attached;
        unsubscribe = attached.on("state", (state) => {
          connected = state.status === "connected";
          button?.setEnabled(connected);
          if (state.status === "closed") binding.dispose();
        });
        show();
      },
      resolved: ({ turnDetection }) => {
        pushToTalk = turnDetection === "push_to_talk";
        show();
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        unsubscribe();
        button?.dispose();
        button = null;
        setHidden(els.talk, true);
        setHidden(els.talkHint, true);
        if (this.#binding === binding) this.#binding = null;
      },
    };
    this.#binding = binding;
    return binding;
  }

  #selection(): TalkSelection {
    const els = this.#els;
    return {
      turnDetection: els.turnDetection.value as TurnDetection | "",
      eagerness: els.eagerness.value as VadEagerness | "",
      noiseReduction: els.noiseReduction.value as NoiseReduction | "",
    };
  }

  #renderEagerness(): void {
    setHidden(
      this.#els.eagernessField,
      !eagernessApplies(this.#selection(), this.#choices?.defaults ?? null),
    );
  }
}

/** Adds and selects `value` until the server's choices replace the options. */
function preselect<T extends string>(
  select: HTMLSelectElement,
  value: T | undefined,
  labels: Record<T, string>,
): void {
  if (value === undefined) return;
  select.append(new Option(labels[value], value));
  select.value = value;
}

/** Replaces a select's options unless they are unchanged (that would close an open list). */
function fill(select: HTMLSelectElement, options: PickerOption[], value: string): void {
  const current = [...select.options].map((option) => `${option.value}:${option.text}`);
  const wanted = options.map((option) => `${option.value}:${option.label}`);
  if (current.join("\n") !== wanted.join("\n")) {
    select.replaceChildren(...options.map((option) => new Option(option.label, option.value)));
  }
  select.value = value;
}

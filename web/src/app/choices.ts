/*
 * The user's choices for the next call (voice, turn taking, noise reduction): read into each
 * request, rebuilt from what the server offers, locked while a call runs.
 */
import type { CallChoices } from "voice-contract";
import type { TalkRequest } from "../ui/talkChoices";
import { TalkControls, type CreateTalkButton, type TalkBinding } from "../ui/talkControls";
import type { VoicePicker } from "../ui/voicePicker";
import type { ServerOffer } from "./mode";

/** The voice picker and the talk controls as one set of choices for the next call. */
export class SessionChoices {
  readonly #voice: VoicePicker;
  readonly #talk: TalkControls;
  readonly #listeners: Array<() => void> = [];

  /** `preset`: turn taking and noise reduction selected before the server's choices are known. */
  constructor(voice: VoicePicker, preset?: TalkRequest) {
    this.#voice = voice;
    this.#talk = new TalkControls(() => this.#changed(), preset);
    voice.listen(() => this.#changed());
  }

  /** `listener` runs when the user picks something (e.g. to prefetch a matching secret). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** The choices sent with the next `realtimeToken` / `realtimeCall`. */
  request(): CallChoices {
    const voice = this.#voice.value;
    return { ...(voice ? { voice } : {}), ...this.#talk.request() };
  }

  /** The pickers, from what the server accepts. */
  show(offer: ServerOffer): void {
    this.#voice.render(offer.choices.voices, offer.defaultVoice);
    this.#talk.renderChoices(offer.choices);
  }

  setBusy(busy: boolean): void {
    this.#voice.setBusy(busy);
    this.#talk.setBusy(busy);
  }

  /** Whether the current session is push-to-talk. */
  get pushToTalk(): boolean {
    return this.#talk.pushToTalk;
  }

  /** Links the next session to the talk button (see `TalkControls.bind`). */
  bindTalk(createButton: CreateTalkButton): TalkBinding {
    return this.#talk.bind(createButton);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

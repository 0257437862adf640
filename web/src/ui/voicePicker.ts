/** The voice picker: "Default (…)" and the voices the server accepts. */
import { byId } from "./dom";

/** `#voice`: renders the voices on offer; reports a pick. */
export class VoicePicker {
  readonly #select = byId("voice", HTMLSelectElement);
  #defaultVoice: string | null = null;

  /** `onChange` runs when the user picks a voice. */
  listen(onChange: () => void): void {
    this.#select.addEventListener("change", onChange);
  }

  /** The picked voice; empty for the server's default. */
  get value(): string {
    return this.#select.value;
  }

  /** The voices on offer; `defaultVoice`, when given, names what "Default" is. */
  render(voices: readonly string[], defaultVoice?: string): void {
    if (defaultVoice !== undefined) this.#defaultVoice = defaultVoice;
    const select = this.#select;
    const selected = select.value;
    const defaultLabel = this.#defaultVoice ? `Default (${this.#defaultVoice})` : "Default voice";
    const current = [...select.options].map((option) => `${option.value}:${option.text}`);
    const wanted = [`:${defaultLabel}`, ...voices.map((voice) => `${voice}:${voice}`)];
    // Rebuilding an unchanged list would close the dropdown under the user's pointer.
    if (current.join("\n") === wanted.join("\n")) return;
    const options = [
      new Option(defaultLabel, ""),
      ...voices.map((voice) => new Option(voice, voice)),
    ];
    select.replaceChildren(...options);
    select.value = voices.includes(selected) ? selected : "";
  }

  /** A choice takes effect on the next Connect: locked while a call runs. */
  setBusy(busy: boolean): void {
    this.#select.disabled = busy;
  }
}

/** The message box under the conversation: typed text goes to the running session. */
import type { VoiceApi } from "voice-contract";
import { byId } from "./dom";

/** `#text-form`: reports each submitted text; enabled while connected. */
export class MessageForm {
  readonly #els = {
    form: byId("text-form", HTMLFormElement),
    input: byId("text-input", HTMLInputElement),
    send: byId("send-text", HTMLButtonElement),
  };

  /** `send` says whether the text was sent; the box is cleared only then. */
  listen(send: (text: string) => boolean): void {
    const { form, input } = this.#els;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (send(input.value)) input.value = "";
      input.focus();
    });
  }

  /**
   * Whether the page's calls take typed text at all: a GPT-Live session delegated to the
   * client takes none from the page (its allowlist lets the page send only mute and unmute),
   * so the form is hidden on Live calls.
   */
  showFor(api: VoiceApi): void {
    this.#els.form.hidden = api !== "realtime";
  }

  /** Text can be sent only while connected. */
  setEnabled(enabled: boolean): void {
    this.#els.input.disabled = !enabled;
    this.#els.send.disabled = !enabled;
  }
}

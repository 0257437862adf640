/** The message box under the conversation: typed text goes to the running session. */
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

  /** Text can be sent only while connected. */
  setEnabled(enabled: boolean): void {
    this.#els.input.disabled = !enabled;
    this.#els.send.disabled = !enabled;
  }
}

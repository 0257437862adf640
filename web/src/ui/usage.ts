/** The usage panel's counts; the cost cells below them belong to `CostView`. */
import type { VoiceApi } from "voice-contract";
import type { UsageTotals } from "../realtime";
import { byId, formatCount } from "./dom";

/** Renders a call's {@link UsageTotals}, or on GPT-Live its billed seconds. */
export class UsageView {
  readonly #els = {
    responses: byId("usage-responses", HTMLElement),
    input: byId("usage-input-tokens", HTMLElement),
    output: byId("usage-output-tokens", HTMLElement),
    total: byId("usage-total-tokens", HTMLElement),
    audio: byId("usage-audio-tokens", HTMLElement),
    secondsRow: byId("usage-seconds-row", HTMLElement),
    seconds: byId("usage-seconds", HTMLElement),
  };
  /** The cells `CostView` (loaded with the session code) renders into. */
  readonly costCells = {
    call: byId("cost-call", HTMLElement),
    page: byId("cost-page", HTMLElement),
  };

  /**
   * The rows of the page's API: Realtime reports tokens per response; a GPT-Live session
   * reports none to the page and bills by the second (`session.usage.updated`), so its
   * panel shows that count instead of token rows that would stay at zero.
   */
  showFor(api: VoiceApi): void {
    const els = this.#els;
    const tokens = api === "realtime";
    for (const cell of [els.responses, els.input, els.output, els.total, els.audio]) {
      if (cell.parentElement) cell.parentElement.hidden = !tokens;
    }
    els.secondsRow.hidden = tokens;
  }

  render(usage: UsageTotals): void {
    const els = this.#els;
    els.responses.textContent = formatCount(usage.responses);
    els.input.textContent = formatCount(usage.inputTokens);
    els.output.textContent = formatCount(usage.outputTokens);
    els.total.textContent = formatCount(usage.totalTokens);
    els.audio.textContent = `${formatCount(usage.inputAudioTokens)} / ${formatCount(usage.outputAudioTokens)}`;
  }

  /** A GPT-Live call's cumulative billed seconds, as OpenAI last reported them. */
  renderSeconds(seconds: number): void {
    this.#els.seconds.textContent = formatCount(seconds);
  }
}

/** The usage panel's token counts; the cost cells below them belong to `CostView`. */
import type { UsageTotals } from "../realtime";
import { byId, formatCount } from "./dom";

/** Renders a call's {@link UsageTotals}. */
export class UsageView {
  readonly #els = {
    responses: byId("usage-responses", HTMLElement),
    input: byId("usage-input-tokens", HTMLElement),
    output: byId("usage-output-tokens", HTMLElement),
    total: byId("usage-total-tokens", HTMLElement),
    audio: byId("usage-audio-tokens", HTMLElement),
  };
  /** The cells `CostView` (loaded with the session code) renders into. */
  readonly costCells = {
    call: byId("cost-call", HTMLElement),
    page: byId("cost-page", HTMLElement),
  };

  render(usage: UsageTotals): void {
    const els = this.#els;
    els.responses.textContent = formatCount(usage.responses);
    els.input.textContent = formatCount(usage.inputTokens);
    els.output.textContent = formatCount(usage.outputTokens);
    els.total.textContent = formatCount(usage.totalTokens);
    els.audio.textContent = `${formatCount(usage.inputAudioTokens)} / ${formatCount(usage.outputAudioTokens)}`;
  }
}

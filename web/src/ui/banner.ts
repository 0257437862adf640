/** The banner under the top bar: one message at a time, with at most one action. */
import { byId } from "./dom";
import type { BannerAction, BannerContent, BannerKind } from "./messages";

const ACTION_LABELS: Record<Exclude<BannerAction, null>, string> = {
  retry: "Try again",
  reload: "Reload page",
  "sign-in": "Sign in again",
  "enable-audio": "Enable audio",
};

/** The banner's elements in `index.html`. */
export interface BannerElements {
  banner: HTMLElement;
  message: HTMLElement;
  action: HTMLButtonElement;
  dismiss: HTMLButtonElement;
}

/** Shows {@link BannerContent}; a press on its action hides it and reports the action. */
export class BannerView {
  readonly #els: BannerElements;
  #action: BannerAction = null;

  constructor(els = bannerElements()) {
    this.#els = els;
    els.dismiss.addEventListener("click", () => this.hide());
  }

  /** `onAction` runs when the user presses the banner's action (the banner hides first). */
  listen(onAction: (action: Exclude<BannerAction, null>) => void): void {
    const els = this.#els;
    els.action.addEventListener("click", () => {
      const action = this.#action;
      this.hide();
      if (action) onAction(action);
    });
  }

  /** Replaces what the banner shows; null leaves it as it is (nothing to say). */
  show(content: BannerContent | null): void {
    if (!content) return;
    const els = this.#els;
    els.banner.dataset.kind = content.kind;
    els.message.textContent = content.message;
    this.#action = content.action;
    els.action.hidden = content.action === null;
    els.action.textContent = content.action ? ACTION_LABELS[content.action] : "";
    els.banner.hidden = false;
  }

  /** Hides the banner if it still shows a message of `kind` (what it said is no longer so). */
  withdraw(kind: BannerKind): void {
    if (this.#els.banner.dataset.kind === kind) this.hide();
  }

  hide(): void {
    this.#els.banner.hidden = true;
    this.#els.banner.dataset.kind = "";
    this.#action = null;
  }
}

function bannerElements(): BannerElements {
  return {
    banner: byId("banner", HTMLDivElement),
    message: byId("banner-message", HTMLParagraphElement),
    action: byId("banner-action", HTMLButtonElement),
    dismiss: byId("banner-dismiss", HTMLButtonElement),
  };
}

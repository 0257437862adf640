/** The account corner of the top bar: who is signed in, and the sign-in and sign-out buttons. */
import { byId, setHidden } from "./dom";

/** What the account corner shows. */
export type AuthViewState =
  | { status: "pending" }
  /** Signing in as a guest failed: only Google sign-in is offered. */
  | { status: "error" }
  | { status: "guest" }
  | { status: "google"; name: string };

/** What the user asks of the account corner. */
export interface AuthIntents {
  signInWithGoogle(): void;
  signOut(): void;
}

/** Renders {@link AuthViewState}; reports the sign-in and sign-out presses. */
export class AuthView {
  readonly #els = {
    status: byId("auth-status", HTMLElement),
    signInGoogle: byId("sign-in-google", HTMLButtonElement),
    signOut: byId("sign-out", HTMLButtonElement),
    operator: byId("operator-link", HTMLAnchorElement),
  };

  listen(intents: AuthIntents): void {
    this.#els.signInGoogle.addEventListener("click", () => intents.signInWithGoogle());
    this.#els.signOut.addEventListener("click", () => intents.signOut());
  }

  /** Shows or hides the link to the operator's usage page (operator.html). */
  showOperatorLink(shown: boolean): void {
    setHidden(this.#els.operator, !shown);
  }

  render(state: AuthViewState): void {
    const els = this.#els;
    switch (state.status) {
      case "pending":
        els.status.dataset.auth = "pending";
        els.status.textContent = "Signing in…";
        setHidden(els.signInGoogle, true);
        setHidden(els.signOut, true);
        return;
      case "error":
        els.status.dataset.auth = "error";
        els.status.textContent = "Not signed in";
        setHidden(els.signInGoogle, false);
        return;
      case "guest":
      case "google": {
        const guest = state.status === "guest";
        els.status.dataset.auth = guest ? "anonymous" : "google";
        els.status.textContent = guest ? "Guest" : `Signed in as ${state.name}`;
        setHidden(els.signInGoogle, !guest);
        setHidden(els.signOut, guest);
      }
    }
  }
}

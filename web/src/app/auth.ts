/*
 * Who uses the page: a guest (signed in anonymously as soon as nobody is) or a Google
 * account. The account corner shows it; the rest of the app hears of each change.
 */
import { onAuthStateChanged, type User } from "firebase/auth";
import { signInAsGuest, signInWithGoogle, signOutUser, type FirebaseServices } from "../firebase";
import type { AuthView } from "../ui/auth";
import type { BannerView } from "../ui/banner";
import { describeAuthError } from "../ui/messages";
import { isOperator } from "./operatorAccess";

/** Keeps the signed-in user, signs a guest in when nobody is, renders the account corner. */
export class AuthController {
  readonly #auth: FirebaseServices["auth"];
  readonly #view: AuthView;
  readonly #banner: BannerView;
  #user: User | null = null;

  constructor(auth: FirebaseServices["auth"], view: AuthView, banner: BannerView) {
    this.#auth = auth;
    this.#view = view;
    this.#banner = banner;
  }

  /** The signed-in user's uid, or null. */
  get uid(): string | null {
    return this.#user?.uid ?? null;
  }

  /**
   * Follows the signed-in user; `onChange` hears of each change with whether the user is
   * another one than before (what was fetched for the last one is not theirs).
   */
  start(onChange: (signedIn: boolean, changed: boolean) => void): void {
    onAuthStateChanged(this.#auth, (user) => {
      const changed = this.#user !== null && user?.uid !== this.#user.uid;
      this.#user = user;
      this.#view.showOperatorLink(false);
      if (!user) {
        this.#view.render({ status: "pending" });
        onChange(false, changed);
        signInAsGuest(this.#auth).catch((error: unknown) => {
          this.#view.render({ status: "error" });
          this.#banner.show(describeAuthError(error));
        });
        return;
      }
      this.#view.render(
        user.isAnonymous
          ? { status: "guest" }
          : { status: "google", name: user.displayName ?? user.email ?? "your account" },
      );
      this.#showOperatorLinkTo(user);
      onChange(true, changed);
    });
  }

  /**
   * Shows the operator page's link when `user`'s ID token (as cached: a claim granted since
   * shows once the token is refreshed, e.g. by the operator page) carries the admin claim.
   */
  #showOperatorLinkTo(user: User): void {
    user
      .getIdTokenResult()
      .then((token) => {
        if (this.#user === user) this.#view.showOperatorLink(isOperator(token.claims));
      })
      .catch(() => undefined);
  }

  async signInWithGoogle(): Promise<void> {
    try {
      await signInWithGoogle(this.#auth);
    } catch (error) {
      this.#banner.show(describeAuthError(error));
    }
  }

  /** The banner's "Sign in again": a guest sign-in. */
  signInAgain(): void {
    void signInAsGuest(this.#auth).catch((error: unknown) =>
      this.#banner.show(describeAuthError(error)),
    );
  }

  signOut(): Promise<void> {
    return signOutUser(this.#auth);
  }
}

/*
 * The operator page's flow: once someone is signed in, refresh their ID token (a claim granted
 * since it was issued shows only in a new one), ask `operatorUsage` for the last 30 days, and
 * show the answer or what went wrong. The server decides who is an operator: the page asks
 * whatever the token says and shows its refusal.
 */
import type { OperatorUsageRequest, OperatorUsageResponse } from "voice-contract";
import { OperatorError, toOperatorError } from "../backend";

/** The days the page asks for: the chart's 30. */
export const OPERATOR_DAYS = 30;

/** How long the token refresh may take before the page asks with the token it has. */
export const TOKEN_REFRESH_TIMEOUT_MS = 10_000;

/** What the operator page shows. */
export type OperatorPageState =
  | { status: "signing-in" }
  | { status: "loading" }
  | { status: "shown"; usage: OperatorUsageResponse }
  | { status: "failed"; error: OperatorError };

/** What the page needs from outside, handed in (fakes in the tests). */
export interface OperatorPageDeps {
  /** Forces a fresh ID token for the signed-in user. */
  refreshToken: () => Promise<unknown>;
  fetchUsage: (request: OperatorUsageRequest) => Promise<OperatorUsageResponse>;
  render: (state: OperatorPageState) => void;
  /** The token refresh's deadline timer (a fake clock in the tests; the window's by default). */
  timers?: Timers;
}

/** The timer functions the page uses. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const WINDOW_TIMERS: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Drives {@link OperatorPageState}: a sign-in, a reload, the Refresh button. */
export class OperatorPage {
  readonly #deps: OperatorPageDeps;
  /** Counts the loads: only the latest one's answer is shown. */
  #load = 0;
  #signedIn = false;

  constructor(deps: OperatorPageDeps) {
    this.#deps = deps;
    deps.render({ status: "signing-in" });
  }

  /** Someone signed in (or another user did): their token is refreshed, then the usage read. */
  signedIn(): Promise<void> {
    this.#signedIn = true;
    return this.#reload();
  }

  /** Nobody is signed in (the page signs a guest in). */
  signedOut(): void {
    this.#signedIn = false;
    this.#load++;
    this.#deps.render({ status: "signing-in" });
  }

  /** Signing a guest in failed: nobody can be asked about. */
  signInFailed(): void {
    this.#signedIn = false;
    this.#load++;
    this.#deps.render({
      status: "failed",
      error: new OperatorError(
        "not-signed-in",
        "Couldn't sign in, so the usage cannot be asked for. Check your connection and reload the page.",
        "",
      ),
    });
  }

  /**
   * Reads the usage again (the Refresh button), with a fresh token too: a claim granted since
   * the page loaded counts. Nothing while nobody is signed in.
   */
  async refresh(): Promise<void> {
    if (this.#signedIn) await this.#reload();
  }

  async #reload(): Promise<void> {
    const load = ++this.#load;
    this.#deps.render({ status: "loading" });
    // A failed or slow refresh leaves the token the user has: the call then says what it lacks.
    await this.#withDeadline(this.#deps.refreshToken()).catch(() => undefined);
    if (load === this.#load) await this.#fetch(load);
  }

  async #fetch(load: number): Promise<void> {
    let state: OperatorPageState;
    try {
      state = { status: "shown", usage: await this.#deps.fetchUsage({ days: OPERATOR_DAYS }) };
    } catch (error) {
      state = { status: "failed", error: toOperatorError(error) };
    }
    if (load === this.#load) this.#deps.render(state);
  }

  async #withDeadline(work: Promise<unknown>): Promise<unknown> {
    const timers = this.#deps.timers ?? WINDOW_TIMERS;
    let timer: unknown;
    const deadline = new Promise((_, reject) => {
      timer = timers.setTimeout(
        () => reject(new Error("token refresh timed out")),
        TOKEN_REFRESH_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      timers.clearTimeout(timer);
    }
  }
}

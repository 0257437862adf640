/*
 * Secret mode: the page fetches an ephemeral secret from `realtimeToken` (cached, prefetched,
 * shared across tabs by CachedTokenProvider) and sends its offer to OpenAI itself.
 */
import { DEFAULT_USER_MIN_INTERVAL_SECONDS, type CallChoices } from "voice-contract";
import type { TokenPrefetch } from "../config";
import { isSecretRejected, type CloseReason, type RealtimeConnectError } from "../realtime";
import { browserSharedSecrets, CachedTokenProvider } from "../backend";
import { callableTokenFetcher, connectFunctions } from "../backend/functions";
import type { DetailsView } from "../ui/details";
import { describeConnectError } from "../ui/messages";
import type { SessionChoices } from "./choices";
import type { LiveModule } from "./liveLoader";
import type { CallConnection, CallHooks, CallMode, ModeParts, PrefetchTrigger } from "./mode";

/** What {@link SecretMode} works with. */
export interface SecretModeOptions {
  tokens: CachedTokenProvider;
  /** When a secret is fetched ahead of the click (`choice` always does). */
  prefetch: TokenPrefetch;
  /** OpenAI's calls endpoint (the stand-in's under the emulators). */
  callsUrl: string;
  signedIn: () => boolean;
  choices: Pick<SessionChoices, "request" | "show">;
  details: Pick<DetailsView, "renderModel" | "renderQuota" | "renderTokenStats">;
}

/** The {@link CallMode} of calls opened with an ephemeral secret. */
export class SecretMode implements CallMode {
  readonly kind = "secret";
  readonly api = "realtime";
  readonly #o: SecretModeOptions;

  constructor(options: SecretModeOptions) {
    this.#o = options;
    const { tokens, choices, details } = options;
    // Every mint (prefetched or not) says what the server offers and what is left today.
    tokens.onResponse((response, request) => {
      choices.show({
        choices: response.choices,
        ...(request.voice ? {} : { defaultVoice: response.session.voice }),
      });
      details.renderQuota(response.quota.remaining, response.quota.limit);
      details.renderModel(response.model);
      this.#renderStats();
    });
  }

  prefetch(trigger: PrefetchTrigger): void {
    const { prefetch, signedIn, tokens, choices } = this.#o;
    if (!signedIn() || prefetch === "off" || (trigger !== "choice" && trigger !== prefetch)) return;
    void tokens.prefetch(choices.request()).then(() => this.#renderStats());
  }

  connection(_live: LiveModule, request: CallChoices, hooks: CallHooks): CallConnection {
    return { getToken: () => this.#getToken(request, hooks), callsUrl: this.#o.callsUrl };
  }

  describeConnectError(error: RealtimeConnectError) {
    return describeConnectError(error);
  }

  closed(reason: CloseReason, request: CallChoices): null {
    // OpenAI refused the secret (expired early, revoked): the next attempt needs a new one.
    if (reason.kind === "connect-failed" && isSecretRejected(reason.error)) {
      this.#o.tokens.invalidate(request);
    }
    return null;
  }

  classify(live: LiveModule, reason: CloseReason) {
    return live.classifyDrop(reason, live.tokenDropClass);
  }

  hangUp(): false {
    return false;
  }

  userChanged(): void {
    // Secrets count against the user who minted them; a new user mints their own.
    this.#o.tokens.invalidate();
  }

  pageHide(): void {}

  async #getToken(request: CallChoices, hooks: CallHooks): Promise<string> {
    try {
      const { response, source } = await this.#o.tokens.get(request);
      this.#o.details.renderTokenStats(this.#o.tokens.fetchCount, source);
      this.#o.details.renderModel(response.model);
      hooks.resolved(response.model, response.session);
      return response.token;
    } finally {
      this.#renderStats();
    }
  }

  #renderStats(): void {
    this.#o.details.renderTokenStats(this.#o.tokens.fetchCount);
  }
}

/**
 * The secret mode of the page: secrets from the `realtimeToken` callable, shared with the
 * user's other tabs and reloads.
 */
export function createSecretMode(parts: ModeParts): SecretMode {
  const { config, firebase, uid, choices, details } = parts;
  const tokens = new CachedTokenProvider({
    fetchToken: callableTokenFetcher(connectFunctions(firebase.app, config)),
    isSignedIn: () => firebase.auth.currentUser !== null,
    // Another tab, or this page before a reload, may hold a secret the user can still use.
    shared: {
      secrets: browserSharedSecrets(),
      scope: () => firebase.auth.currentUser?.uid ?? null,
    },
    // A Connect right after a rejected secret waits out the rest of the server's (default)
    // interval instead of failing; a longer interval set by the operator is shown as refused.
    waitForIntervalSeconds: DEFAULT_USER_MIN_INTERVAL_SECONDS,
  });
  return new SecretMode({
    tokens,
    prefetch: config.tokenPrefetch,
    callsUrl: config.openaiCallsUrl,
    signedIn: () => uid() !== null,
    choices,
    details,
  });
}

/*
 * Brokered mode: each call's SDP exchange goes through our `realtimeCall` function, which
 * counts the user's voice minutes; BrokeredCalls keeps the open call. Both load with this
 * mode only (main.ts), so a page in secret mode never fetches them.
 */
import type { PriorTurn, RealtimeTokenRequest, VoiceApi } from "voice-contract";
import type { AppConfig } from "../config";
import type { FirebaseServices } from "../firebase";
import type { CloseReason, DropClass, RealtimeConnectError } from "../realtime";
import type { ConnectBlock } from "../ui/callPanel";
import type { DetailsView } from "../ui/details";
import {
  describeConnectError,
  describeLiveClose,
  type BannerContent,
  type BannerKind,
} from "../ui/messages";
import { minutesElements } from "../ui/minutes";
import { BrokeredCalls, type BrokeredCallsOptions } from "./brokeredCalls";
import type { SessionChoices } from "./choices";
import type { LiveModule } from "./liveLoader";
import type { CallConnection, CallHooks, CallMode, PrefetchTrigger } from "./mode";

/** What {@link BrokeredMode} works with. */
export interface BrokeredModeOptions {
  config: AppConfig;
  firebase: FirebaseServices;
  /** The signed-in user's uid, or null. */
  uid: () => string | null;
  choices: Pick<SessionChoices, "request" | "show">;
  details: Pick<DetailsView, "renderModel">;
  /** A notice that arrives later than the event that caused it (an end call that failed). */
  notice: (banner: BannerContent) => void;
  /** A notice of `kind` is no longer true; the banner drops it if it still shows it. */
  withdrawNotice: (kind: BannerKind) => void;
  /** The user's minutes leave Connect off, and why (null: a call may start). */
  blockConnect: (block: ConnectBlock | null) => void;
  /**
   * Makes the page's BrokeredCalls from what this mode hands it. Default: on the page's
   * minutes elements and the callables; tests pass fakes.
   */
  createCalls?: (options: Omit<BrokeredCallsOptions, "elements">) => BrokeredCalls;
}

/** The {@link CallMode} of calls brokered by `realtimeCall`, counted in voice minutes. */
export class BrokeredMode implements CallMode {
  readonly kind = "brokered";
  readonly api: VoiceApi;
  readonly #o: BrokeredModeOptions;
  /** Made with the first prepare or call. */
  #calls: BrokeredCalls | null = null;
  /** How the last close is classified for reconnecting, when this mode knows better. */
  #drop: { reason: CloseReason; drop: DropClass } | null = null;

  constructor(options: BrokeredModeOptions) {
    this.#o = options;
    this.api = options.config.api;
  }

  /**
   * Signed in, before the first Connect: shows the user's minutes and fills the pickers; the
   * same request readies the click's `realtimeCall` (BrokeredCalls.prepare). A changed choice
   * needs nothing: brokered calls need no secret.
   */
  prefetch(trigger: PrefetchTrigger): void {
    const uid = this.#o.uid();
    if (trigger === "choice" || uid === null) return;
    void this.#brokered()
      .prepare(uid)
      .then((prepared) => {
        if (prepared === null || this.#o.uid() !== uid) return;
        this.#o.details.renderModel(prepared.model);
        this.#o.choices.show({
          choices: prepared.choices,
          ...(this.#o.choices.request().voice
            ? {}
            : { defaultVoice: prepared.choices.defaults.voice }),
        });
      });
  }

  /**
   * Every request names its API, and the answer must run on it (the session speaks that API's
   * events). A reconnected Live call sends the conversation so far as `priorTurns`.
   */
  connection(
    _live: LiveModule,
    request: RealtimeTokenRequest,
    hooks: CallHooks,
    priorTurns?: PriorTurn[],
  ): CallConnection {
    const call = {
      ...request,
      api: this.api,
      ...(this.api === "live" && priorTurns && priorTurns.length > 0 ? { priorTurns } : {}),
    };
    const exchange = this.#brokered().exchange(call, (opened) => {
      hooks.resolved(opened.model, opened.session);
      this.#o.details.renderModel(opened.model, opened.api);
      this.#o.choices.show({
        choices: opened.choices,
        ...(request.voice ? {} : { defaultVoice: opened.session.voice }),
      });
    });
    return { exchange };
  }

  /** A brokered refusal's banner (out of minutes, not served), else the generic one. */
  describeConnectError(error: RealtimeConnectError): BannerContent | null {
    return this.#calls?.describeConnectError(error) ?? describeConnectError(error);
  }

  /**
   * Ends the call on the server (before a reconnect reserves the next one). A call the server
   * hung up at its deadline, or one the user's Disconnect is hanging up, is not reconnected.
   */
  closed(reason: CloseReason): BannerContent | null {
    const closed = this.#calls?.closed(reason);
    if (closed?.byUser || closed?.banner) {
      this.#drop = { reason, drop: closed.byUser ? { kind: "user" } : { kind: "ended" } };
    }
    if (closed?.banner) {
      // The deadline explains it; Live's own word for the close is added, as the server gave it.
      return reason.kind === "live-closed"
        ? { ...closed.banner, message: `${closed.banner.message} (Live: ${reason.reason})` }
        : closed.banner;
    }
    // A Live call's session.closed that no deadline explains: the server's reason, as given.
    if (reason.kind === "live-closed" && !closed?.byUser) return describeLiveClose(reason.reason);
    return null;
  }

  classify(live: LiveModule, reason: CloseReason): DropClass {
    return this.#drop?.reason === reason
      ? this.#drop.drop
      : live.classifyDrop(reason, live.tokenDropClass);
  }

  /**
   * The page's side closes at once (nothing more is sent) and the server is asked to end the
   * call, told how long it ran; the close is the user's (BrokeredCalls.closed), so it is not
   * reconnected. The promise settles once the server answered or after HANG_UP_WAIT_MS. A
   * second press does not wait: no call is open then.
   */
  hangUp(mute: () => void, stop: () => void): Promise<void> | false {
    const calls = this.#calls;
    if (!calls?.hasOpenCall) return false;
    mute();
    return calls.hangUp(stop);
  }

  /** The last user's minutes are not shown, nor block Connect (see prefetch for the next). */
  userChanged(): void {
    this.#calls?.userChanged();
  }

  pageHide(): void {
    this.#calls?.pageHide();
  }

  #brokered(): BrokeredCalls {
    const create =
      this.#o.createCalls ??
      ((options) => new BrokeredCalls({ ...options, elements: minutesElements() }));
    return (this.#calls ??= create({
      config: this.#o.config,
      firebase: this.#o.firebase,
      onNotice: this.#o.notice,
      onNoticeResolved: this.#o.withdrawNotice,
      onBlock: this.#o.blockConnect,
      uid: this.#o.uid,
    }));
  }
}

/*
 * How a call reaches OpenAI, chosen once in main.ts: with an ephemeral secret the page fetches
 * (secretMode.ts), or through our `realtimeCall` function, which also counts voice minutes
 * (brokeredMode.ts). The rest of the app talks to this interface only. Each mode's code is a
 * chunk of its own, loaded after first paint, and only the mode in use is loaded.
 */
import type {
  CallChoices,
  CallSession,
  PriorTurn,
  SessionChoiceOptions,
  VoiceApi,
} from "voice-contract";
import type {
  CloseReason,
  DropClass,
  RealtimeConnectError,
  SdpExchange,
  SecretExchangeOptions,
} from "../realtime";
import type { AppConfig } from "../config";
import type { FirebaseServices } from "../firebase";
import type { ConnectBlock } from "../ui/callPanel";
import type { DetailsView } from "../ui/details";
import type { BannerContent, BannerKind } from "../ui/messages";
import type { SessionChoices } from "./choices";
import type { LazyModule } from "./lazyModule";
import type { LiveModule } from "./liveLoader";

/** What may fetch ahead: the page loaded signed in, a pointer on Connect, a changed choice. */
export type PrefetchTrigger = "load" | "intent" | "choice";

/** What the server offers the user: from a mint, a brokered call or its prepare. */
export interface ServerOffer {
  choices: SessionChoiceOptions;
  /** The voice a request without one gets; absent when the request named a voice. */
  defaultVoice?: string;
}

/** What a call's mode tells the page about one call while it opens. */
export interface CallHooks {
  /** The model and the session the server set up for this call, before it goes live. */
  resolved(model: string, session: CallSession): void;
}

/** How one call's session reaches OpenAI: our SDP exchange, or a secret for OpenAI's own. */
export type CallConnection =
  { exchange: SdpExchange } | ({ exchange?: undefined } & SecretExchangeOptions);

/** The one place that knows which mode the page runs in. */
export interface CallMode {
  readonly kind: "secret" | "brokered";
  /** The API its calls run on (GPT-Live only brokered: it has no client secrets). */
  readonly api: VoiceApi;
  /** Fetches ahead of a click what the `trigger` calls for (a secret, or the user's minutes). */
  prefetch(trigger: PrefetchTrigger): void;
  /**
   * The connection of one call with the user's `request`. `priorTurns`: the conversation a
   * reconnected Live call continues (a Realtime call replays it on its channel instead).
   */
  connection(
    live: LiveModule,
    request: CallChoices,
    hooks: CallHooks,
    priorTurns?: PriorTurn[],
  ): CallConnection;
  /** The banner for a failed connect. */
  describeConnectError(error: RealtimeConnectError): BannerContent | null;
  /**
   * A call's session closed with `reason`: what the mode must do about it (forget a rejected
   * secret, end a brokered call on the server), and the banner that explains it, if any.
   */
  closed(reason: CloseReason, request: CallChoices): BannerContent | null;
  /** Whether the conversation should reopen a call that closed with `reason`. */
  classify(live: LiveModule, reason: CloseReason): DropClass;
  /**
   * Disconnect: false when the page just stops. A mode that ends the call itself (`mute`
   * first) calls `stop` at once and returns a promise that settles once the server answered
   * or the wait for it is over; the page shows "Disconnecting…" until then.
   */
  hangUp(mute: () => void, stop: () => void): Promise<void> | false;
  /** The signed-in user changed: what was fetched for the last one is not theirs. */
  userChanged(): void;
  /** The page is going away. */
  pageHide(): void;
}

/** What main.ts makes the mode in use from, once that mode's code has loaded. */
export interface ModeParts {
  config: AppConfig;
  firebase: FirebaseServices;
  /** The signed-in user's uid, or null. */
  uid: () => string | null;
  choices: Pick<SessionChoices, "request" | "show">;
  details: Pick<DetailsView, "renderModel" | "renderQuota" | "renderTokenStats">;
  /** A notice that arrives later than the event that caused it (an end call that failed). */
  notice: (banner: BannerContent) => void;
  /** A notice of `kind` is no longer true; the banner drops it if it still shows it. */
  withdrawNotice: (kind: BannerKind) => void;
  /** Connect is off for this reason (brokered mode's spent minutes); null: a call may start. */
  blockConnect: (block: ConnectBlock | null) => void;
}

/** The mode in use, its code loaded once after first paint (see main.ts `loadMode`). */
export type ModeLoader = Pick<LazyModule<CallMode>, "loaded" | "load" | "use">;

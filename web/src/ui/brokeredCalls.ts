/*
 * Brokered mode in the page: each Connect's SDP exchange goes through the `realtimeCall`
 * callable (brokeredExchange), and this keeps the open call: its countdown and minutes
 * (MinutesView), ending it on Disconnect or a loss (awaited, then the minutes that came back
 * are shown), ending it best effort on pagehide (PageHideEnd), and saying why the server
 * ended it. Loaded with the session code (live.ts).
 */
import { getLimitedUseToken } from "firebase/app-check";
import type {
  EndRealtimeCallResponse,
  RealtimeTokenRequest,
  VoiceMinutes,
} from "../../../functions/src/contract";
import type { AppConfig } from "../config";
import type { FirebaseServices } from "../firebase";
import type { CloseReason, RealtimeConnectError, SdpExchange } from "../realtime";
import {
  BrokeredCallError,
  brokeredExchange,
  callableBrokeredCalls,
  callableUrl,
  END_REALTIME_CALL_FUNCTION,
  PageHideEnd,
  type BrokeredExchangeOptions,
} from "../token";
import type { BannerContent } from "./messages";
import {
  describeBrokeredRefusal,
  describeServerEnd,
  endedByDeadline,
  localDeadline,
  MinutesView,
  type MinutesElements,
  type OpenCall,
} from "./minutes";

/** What {@link BrokeredCalls} needs; the callables and the clock are injectable. */
export interface BrokeredCallsOptions {
  config: AppConfig;
  firebase: FirebaseServices;
  elements: MinutesElements;
  /** A notice that arrives later than the event that caused it (an end call that failed). */
  onNotice: (banner: BannerContent) => void;
  calls?: Pick<BrokeredExchangeOptions, "call" | "end">;
  pageHide?: PageHideEnd;
  now?: () => number;
}

type Phase =
  | { phase: "none" }
  | { phase: "open"; call: OpenCall }
  | { phase: "ending"; callId: string; minutes: VoiceMinutes };

/** The page's brokered calls: one open at a time. */
export class BrokeredCalls {
  readonly #calls: Pick<BrokeredExchangeOptions, "call" | "end">;
  readonly #view: MinutesView;
  readonly #pageHide: PageHideEnd;
  readonly #now: () => number;
  readonly #onNotice: (banner: BannerContent) => void;
  #state: Phase = { phase: "none" };
  /** The last minutes the server reported, for a refusal that carries none. */
  #minutes: VoiceMinutes | null = null;

  constructor(options: BrokeredCallsOptions) {
    const { config, firebase } = options;
    this.#calls = options.calls ?? callableBrokeredCalls(firebase.functions);
    this.#now = options.now ?? Date.now;
    this.#view = new MinutesView(options.elements, this.#now);
    this.#onNotice = options.onNotice;
    this.#pageHide =
      options.pageHide ??
      new PageHideEnd({
        url: callableUrl({
          projectId: config.firebase.projectId,
          region: config.functionsRegion,
          name: END_REALTIME_CALL_FUNCTION,
          emulator: config.emulators && {
            host: config.emulators.host,
            port: config.emulators.functionsPort,
          },
        }),
        idToken: async () => {
          const user = firebase.auth.currentUser;
          if (!user) throw new Error("not signed in");
          return user.getIdToken();
        },
        appCheckToken: async () =>
          firebase.appCheck ? (await getLimitedUseToken(firebase.appCheck)).token : null,
      });
  }

  /** The SDP exchange for one Connect with the user's `choices`. */
  exchange(choices: RealtimeTokenRequest): SdpExchange {
    return brokeredExchange({
      ...this.#calls,
      choices,
      onOpened: (opened) => {
        const call: OpenCall = {
          callId: opened.callId,
          endsAt: opened.endsAt,
          deadlineMs: localDeadline(opened, this.#now()),
          sliceSeconds: opened.sliceSeconds,
          limitedBy: opened.limitedBy,
          minutes: opened.minutes,
        };
        this.#state = { phase: "open", call };
        this.#renderMinutes(opened.minutes);
        this.#view.startCountdown(call);
        void this.#pageHide.arm(call.callId);
      },
    });
  }

  /**
   * The banner for a failed Connect when it is a brokered refusal (out of minutes, mode not
   * served), else null. A refusal's minutes are shown.
   */
  describeConnectError(error: RealtimeConnectError): BannerContent | null {
    const cause = error.cause;
    if (cause instanceof BrokeredCallError && cause.details.minutes) {
      this.#renderMinutes(cause.details.minutes);
    }
    return describeBrokeredRefusal(error, this.#now());
  }

  /**
   * The session closed: the open call is ended on the server (awaited in the background; the
   * minutes that came back are shown when it answers). Returns the banner that explains a
   * hang-up at the deadline, or null (the generic close messages apply).
   */
  closed(reason: CloseReason): BannerContent | null {
    const state = this.#state;
    if (state.phase !== "open") return null;
    const { call } = state;
    this.#view.stopCountdown();
    const banner = endedByDeadline(reason, call.deadlineMs, this.#now())
      ? describeServerEnd(call, this.#now())
      : null;
    void this.#end(call);
    return banner;
  }

  /** The page is going away: ends the call with a keepalive request. */
  pageHide(): void {
    if (this.#state.phase !== "open") return;
    this.#state = { phase: "none" };
    this.#view.stopCountdown();
    this.#pageHide.fire();
  }

  /** Ends `call` on the server and shows the minutes that came back. */
  async #end(call: OpenCall): Promise<void> {
    this.#state = { phase: "ending", callId: call.callId, minutes: call.minutes };
    this.#pageHide.disarm();
    this.#view.renderMinutes(call.minutes, "ending");
    let result: EndRealtimeCallResponse | null = null;
    try {
      result = parseEndResponse(await this.#calls.end({ callId: call.callId }));
    } catch {
      result = null;
    }
    if (this.#state.phase === "ending" && this.#state.callId === call.callId) {
      this.#state = { phase: "none" };
    }
    if (result) {
      this.#renderMinutes(result.minutes);
      return;
    }
    this.#renderMinutes(this.#minutes ?? call.minutes);
    this.#onNotice({
      kind: "end-call-failed",
      message:
        "The call was closed here, but the server could not be told. It ends the call at its " +
        "deadline and charges its whole slice; your minutes will show after your next call.",
      action: null,
    });
  }

  #renderMinutes(minutes: VoiceMinutes): void {
    this.#minutes = minutes;
    this.#view.renderMinutes(minutes);
  }
}

/** The end-call result, checked; null when it is not one. */
function parseEndResponse(value: unknown): EndRealtimeCallResponse | null {
  if (typeof value !== "object" || value === null) return null;
  const record = value as Partial<EndRealtimeCallResponse>;
  const minutes = record.minutes;
  if (
    (record.outcome !== "ended" && record.outcome !== "already-ended") ||
    typeof minutes !== "object" ||
    minutes === null ||
    typeof minutes.daySeconds !== "number" ||
    typeof minutes.dayResetsAt !== "number"
  ) {
    return null;
  }
  return record as EndRealtimeCallResponse;
}

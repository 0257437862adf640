/**
 * The brokered upstream: the server posts the browser's SDP offer with its own key and the
 * session it built, gets the SDP answer and the call's id, and can hang the call up later.
 *
 * {@link BrokeredUpstream} is the seam. {@link createOpenAiRealtimeUpstream} implements it with
 * OpenAI's Realtime "unified interface" (`POST /v1/realtime/calls`, multipart `sdp` +
 * `session`; `POST /v1/realtime/calls/{id}/hangup`) through the `openai` SDK's client;
 * `createOpenAiLiveUpstream` (liveUpstream.ts) implements it with GPT-Live
 * (`POST /v1/live/sessions`, ended over its sideband), with its own session type.
 *
 * Failures are {@link UpstreamError}s with the same kinds as the mint's. Nothing here logs, and
 * no error message carries the key or SDP.
 */
import type { RealtimeSessionCreateRequest } from "openai/resources/realtime/realtime";
import {
  loadSdk,
  openAiClient,
  type OpenAiClientOptions,
  toUpstreamError,
  UpstreamError,
} from "./openai";
import { clip, redactSdp } from "./redact";

/** What opening a brokered call takes. */
export interface CreateCallInput<Session> {
  /** The browser's SDP offer, already checked by `sdp.ts`. Never logged. */
  sdp: string;
  /** The session the server built; the browser has no say beyond the allowlisted choices. */
  session: Session;
  /**
   * A stable, non-identifying id of the end user (a keyed hash of the uid). OpenAI's Realtime
   * API takes it as the `OpenAI-Safety-Identifier` request header when a session is created or
   * connected (OpenAI's "Safety checks" guide); it has no `safety_identifier` body field (the
   * openai@6 Realtime types have none, unlike Responses and Chat Completions).
   */
  safetyIdentifier?: string | undefined;
  /** Unix ms by which the request must have completed, answer read; aborted then. */
  deadline: number;
}

/** An opened call. */
export interface CreatedCall {
  /** The SDP answer for the browser's `setRemoteDescription`. Never logged. */
  answer: string;
  /** Upstream's id of the call (the last segment of `Location`), for the hang-up. */
  callId: string;
  /** Upstream's `x-request-id`, for support requests. */
  requestId: string | null;
}

/**
 * How a hang-up went: `ended` (a 2xx: upstream ended the call now, or confirms it had ended),
 * or `not-found` (a 404: upstream knows no call of that id, under this key and base URL).
 * Anything else throws. See {@link hangupProvesEnd} for what each proves.
 */
export type HangupOutcome = "ended" | "not-found";

/**
 * Whether a hang-up proves the call is over: only a 2xx does. A 404 says that upstream does
 * not know the id where the request went, which is not the same thing: a base URL, project or
 * proxy that is not the one the call was opened on answers it too, and OpenAI has been seen
 * answering 404 for the id of a session that was still running
 * (openai/openai-realtime-console#562). So a 404 neither earns a refund nor stands the
 * deadline task down; callers say so to the page or ask again.
 */
export function hangupProvesEnd(outcome: HangupOutcome): boolean {
  return outcome === "ended";
}

/** One brokered upstream. `Session` is what that upstream's call creation takes. */
export interface BrokeredUpstream<Session = RealtimeSessionCreateRequest> {
  /** Which upstream this is, for call records and logs. */
  readonly name: "openai-realtime" | "openai-live";
  /** Opens a call. Throws {@link UpstreamError}; then no call exists to hang up, as far as we know. */
  createCall(input: CreateCallInput<Session>): Promise<CreatedCall>;
  /**
   * Ends a call. Throws {@link UpstreamError} when the outcome is unknown (retry it); a 404 is
   * `not-found`, which does not prove the call over ({@link hangupProvesEnd}).
   */
  hangup(callId: string, options: { deadline: number }): Promise<HangupOutcome>;
  /**
   * {@link hangup}, with the seconds upstream itself counted for the call when it says so (a
   * Live session's `session.closed` usage). Absent on an upstream that never reports them.
   */
  hangupMeasured?(callId: string, options: { deadline: number }): Promise<MeasuredHangup>;
}

/** A hang-up's outcome and upstream's own count of the call's seconds, when it gave one. */
export interface MeasuredHangup {
  outcome: HangupOutcome;
  /** Upstream's billed seconds of the whole call (fractional), or null when not reported. */
  usageSeconds: number | null;
}

/** Hangs `callId` up on `upstream`, with its own count of the call's seconds where it has one. */
export async function hangUpMeasured(
  upstream: Pick<BrokeredUpstream<unknown>, "hangup" | "hangupMeasured">,
  callId: string,
  options: { deadline: number },
): Promise<MeasuredHangup> {
  if (upstream.hangupMeasured !== undefined) return upstream.hangupMeasured(callId, options);
  return { outcome: await upstream.hangup(callId, options), usageSeconds: null };
}

/** What a brokered upstream adapter is made with. */
export interface OpenAiUpstreamOptions extends Omit<OpenAiClientOptions, "timeout"> {
  /** Wall clock in ms, for the deadlines. Default `Date.now`. */
  now?: () => number;
}

/** The largest SDP answer accepted back; real answers are 1–6 KiB. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** The ids of calls and Live sessions this server accepts from upstream (and from pages). */
export const CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** {@link BrokeredUpstream} on OpenAI's Realtime API through the `openai` SDK. */
export function createOpenAiRealtimeUpstream(options: OpenAiUpstreamOptions): BrokeredUpstream {
  const now = options.now ?? Date.now;
  const { NotFoundError } = loadSdk();
  const client = openAiClient(options);
  const remaining = (deadline: number, what: string) => msLeft(deadline, now(), what);

  return {
    name: "openai-realtime",

    async createCall({ sdp, session, safetyIdentifier, deadline }) {
      const what = "The call request to OpenAI";
      const ms = remaining(deadline, what);
      // The SDK's own timeout stops at the response headers; this signal also covers the body.
      const signal = AbortSignal.timeout(ms);
      const form = new FormData();
      form.append("sdp", new Blob([sdp], { type: "application/sdp" }), "offer.sdp");
      form.append(
        "session",
        new Blob([JSON.stringify(session)], { type: "application/json" }),
        "session.json",
      );
      let result;
      try {
        result = await client
          .post<unknown>("/realtime/calls", {
            body: form,
            headers: {
              Accept: "application/sdp",
              ...(safetyIdentifier !== undefined
                ? { "OpenAI-Safety-Identifier": safetyIdentifier }
                : {}),
            },
            timeout: ms,
            signal,
          })
          .withResponse();
      } catch (error) {
        throw classify(error, what, signal);
      }
      const { data, response, request_id: requestId } = result;
      const problem = checkAnswer(data, response.headers.get("content-type"));
      if (problem !== null)
        throw new UpstreamError("malformed", `OpenAI answered the call with ${problem}.`, {
          status: response.status,
          requestId,
        });
      const callId = callIdFromLocation(response.headers.get("location"));
      if (callId === null)
        throw new UpstreamError(
          "malformed",
          "OpenAI answered the call without a usable Location header (no call id).",
          { status: response.status, requestId },
        );
      return { answer: data as string, callId, requestId };
    },

    async hangup(callId, { deadline }) {
      const what = "The hang-up request to OpenAI";
      const ms = remaining(deadline, what);
      const signal = AbortSignal.timeout(ms);
      try {
        await client.realtime.calls.hangup(callId, { timeout: ms, signal });
        return "ended";
      } catch (error) {
        if (error instanceof NotFoundError) return "not-found";
        throw classify(error, what, signal);
      }
    },
  };
}

/** What is wrong with a 2xx call answer, or null when it is a plausible SDP answer. */
export function checkAnswer(data: unknown, contentType: string | null): string | null {
  if (typeof data !== "string")
    return `a ${contentType ?? "typeless"} body instead of an SDP answer`;
  if (data.trim() === "") return "an empty body";
  if (Buffer.byteLength(data, "utf8") > MAX_ANSWER_BYTES)
    return `a body over ${MAX_ANSWER_BYTES} bytes`;
  if (!/^v=0\r?\n/.test(data)) return "a body that is not SDP (no leading v=0)";
  if (!/^m=/m.test(data)) return "an SDP without media sections";
  // An answer picks a DTLS role; only an offer leaves it open with actpass.
  if (/^a=setup:actpass\s*$/m.test(data)) return "an SDP offer instead of an answer";
  return null;
}

/** The call id from `Location: /v1/realtime/calls/{id}` (relative or absolute), or null. */
export function callIdFromLocation(location: string | null): string | null {
  if (location === null) return null;
  let path: string;
  try {
    path = new URL(location, "http://upstream.invalid").pathname;
  } catch {
    return null;
  }
  const match = /\/realtime\/calls\/([^/]+)\/?$/.exec(path);
  if (!match?.[1]) return null;
  const id = decodeURIComponent(match[1]);
  return CALL_ID.test(id) ? id : null;
}

/** Milliseconds from `now` to `deadline`; throws the timeout of `what` when none are left. */
export function msLeft(deadline: number, now: number, what: string): number {
  const ms = Math.floor(deadline - now);
  if (ms <= 0) throw timedOut(what);
  return ms;
}

/** The timeout failure of a request to upstream (`what` names it). */
export function timedOut(what: string): UpstreamError {
  return new UpstreamError("unavailable", `${what} timed out.`, { timedOut: true });
}

/**
 * Classifies a failure like the mint's (`toUpstreamError`), with this request's wording for
 * timeouts, and with anything SDP-shaped cut from upstream's text: an error about an offer may
 * quote it.
 */
export function classify(error: unknown, what: string, signal: AbortSignal): UpstreamError {
  const { APIConnectionTimeoutError, APIError, APIUserAbortError } = loadSdk();
  if (
    error instanceof APIConnectionTimeoutError ||
    (error instanceof APIUserAbortError && signal.aborted) ||
    (signal.aborted && !(error instanceof APIError && error.status !== undefined))
  )
    return timedOut(what);
  if (error instanceof APIError && error.status !== undefined) {
    const classified = toUpstreamError(error);
    return new UpstreamError(
      classified.kind,
      clip(redactSdp(classified.message)),
      classified.details,
    );
  }
  if (error instanceof UpstreamError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new UpstreamError("unavailable", clip(redactSdp(`${what} failed: ${detail}`)));
}

/**
 * Brokered calls: `realtimeCall` posts the browser's SDP offer upstream with the server's key
 * and session, within the user's voice-minute budget, and schedules the call's hang-up at its
 * deadline (callOpen.ts); the same callable answers `{ prepare: true }` with the caller's
 * minutes (callPrepare.ts). `endRealtimeCall` lets the call's owner end it early and get the
 * unused seconds back (callEnd.ts). The deadline task itself is hangupTask.ts.
 *
 * This file wires each step into the callable pipeline (pipeline.ts: guards, mode, one error
 * exit); the settings and the store it shares with the deadline task are in brokered.ts.
 */
import { onCall } from "firebase-functions/v2/https";
import {
  type BrokeredDeps,
  brokeredSettings,
  type BrokeredSettings,
  type BrokeredWorld,
  HANGUP_FUNCTION,
  minuteStore,
} from "./brokered";
import { endCall } from "./callEnd";
import { openCall } from "./callOpen";
import { prepareCall } from "./callPrepare";
import { parseCallRequest, parseEndRequest } from "./callRequests";
import { CALLABLE_OPTIONS, OPENAI_API_KEY, REGION } from "./config";
import type {
  EndRealtimeCallResponse,
  RealtimeCallPrepared,
  RealtimeCallResponse,
} from "voice-contract";
import { cloudLog, type GuardedRequest } from "./guards";
import { hangupQueue } from "./hangupQueue";
import { callablePipeline } from "./pipeline";
import { cachedPreflight } from "./preflight";
import { createOpenAiLiveUpstream } from "./liveUpstream";
import { createOpenAiRealtimeUpstream } from "./upstream";

export type { BrokeredDeps } from "./brokered";

const CALL = "realtimeCall";
const END = "endRealtimeCall";

function world(deps: BrokeredDeps): BrokeredWorld {
  return { ...deps, now: deps.now ?? Date.now, log: deps.log ?? cloudLog };
}

/** The pipeline's inputs that both brokered callables share. */
function brokeredGuards(w: BrokeredWorld) {
  return {
    settings: w.settings,
    apiKey: w.apiKey,
    mode: "brokered" as const,
    modes: (settings: BrokeredSettings) => settings.voice,
    log: w.log,
  };
}

/** Builds the `realtimeCall` handler (an offer to open, or a prepare request). */
export function createRealtimeCallHandler(
  deps: BrokeredDeps,
): (request: GuardedRequest) => Promise<RealtimeCallResponse | RealtimeCallPrepared> {
  const w = world(deps);
  const event = "realtime_call";
  return callablePipeline({
    ...brokeredGuards(w),
    callable: CALL,
    event,
    parse: parseCallRequest,
    run: (admitted): Promise<RealtimeCallResponse | RealtimeCallPrepared> => {
      const { input } = admitted;
      return input.kind === "prepare"
        ? prepareCall(admitted.uid, admitted.settings, w, event)
        : openCall({ ...admitted, input }, w, { callable: CALL, event });
    },
  });
}

/** Builds the `endRealtimeCall` handler. */
export function createEndRealtimeCallHandler(
  deps: BrokeredDeps,
): (request: GuardedRequest) => Promise<EndRealtimeCallResponse> {
  const w = world(deps);
  const event = "end_realtime_call";
  return callablePipeline({
    ...brokeredGuards(w),
    callable: END,
    event,
    parse: parseEndRequest,
    run: (admitted) => endCall(admitted, w, event),
  });
}

const deps: BrokeredDeps = {
  settings: brokeredSettings,
  apiKey: () => OPENAI_API_KEY.value().trim(),
  store: minuteStore,
  // OPENAI_BASE_URL in the environment points the SDK at the local stand-in.
  upstream: (apiKey) => createOpenAiRealtimeUpstream({ apiKey }),
  liveUpstream: (apiKey) => createOpenAiLiveUpstream({ apiKey }),
  queue: () => hangupQueue(`locations/${REGION.value()}/functions/${HANGUP_FUNCTION}`),
};

const callHandler = createRealtimeCallHandler(deps);
const endHandler = createEndRealtimeCallHandler(deps);

export const realtimeCall = cachedPreflight(
  onCall(CALLABLE_OPTIONS, (request) => callHandler(request)),
);
export const endRealtimeCall = cachedPreflight(
  onCall(CALLABLE_OPTIONS, (request) => endHandler(request)),
);

/**
 * The one sequence of every callable: the guards (guards.ts), the mode check, the callable's
 * own step, and the one exit (httpsErrors.ts). A callable module writes only its step.
 */
import type { RealtimeMode } from "voice-contract";
import { CallableFailure, fail, modeNotServed, refusalKind, servedModes } from "./failure";
import {
  admit,
  type Admitted,
  describe,
  type GuardDeps,
  type GuardedRequest,
  type Log,
  readConfig,
} from "./guards";
import { exitError } from "./httpsErrors";
import { UpstreamError, type UpstreamFailure } from "./openai";
import { type PlannedSettings, planRefusal } from "./plans";
import type { VoiceSettings } from "./voiceSettings";

/** A callable: its guards' inputs, the mode it belongs to, and its step. */
export interface CallableSpec<
  S extends { replayProtection: boolean } & PlannedSettings,
  T,
  R,
> extends GuardDeps<S, T> {
  /** The mode the callable belongs to; it refuses when REALTIME_MODES does not serve it. */
  mode: RealtimeMode;
  /** Which modes the backend serves; `undefined` serves every mode. May throw a ConfigError. */
  modes: (settings: S) => VoiceSettings | undefined;
  /** What the callable does for an admitted request. Throws a `CallableFailure` on failure. */
  run: (admitted: Admitted<S, T>) => Promise<R>;
  /**
   * Counts a refusal by reason for the operator's usage (refusalCount.ts). It runs on the
   * refusal path only, before the refusal is answered; if it fails the refusal is answered all
   * the same.
   */
  countRefusal?: (reason: string) => Promise<void>;
}

/** The callable's handler: guards, mode, step, and every failure through the one exit. */
export function callablePipeline<S extends { replayProtection: boolean } & PlannedSettings, T, R>(
  spec: CallableSpec<S, T, R>,
): (request: GuardedRequest) => Promise<R> {
  return async (request) => {
    try {
      const admitted = admit(request, spec);
      const voice = readConfig(spec, () => spec.modes(admitted.settings));
      const served = spec.mode === "secret" ? voice?.serveSecret : voice?.serveBrokered;
      if (voice !== undefined && served !== true) {
        spec.log.info(`${spec.event}_mode_refused`, { uid: admitted.uid });
        fail(modeNotServed(spec.callable, voice));
      }
      const { plan } = admitted;
      const refused = planRefusal(plan.rules, spec.mode, admitted.settings.server?.model);
      if (refused !== undefined) {
        spec.log.info(`${spec.event}_plan_refused`, { uid: admitted.uid, plan: plan.name });
        // The modes this caller may use: the plan's, of those the backend serves.
        const served = voice === undefined ? undefined : servedModes(voice);
        fail({
          kind: "plan-refused",
          callable: spec.callable,
          plan: plan.name,
          refused:
            refused.refused === "model"
              ? { what: "model", model: refused.model }
              : {
                  what: "mode",
                  modes: refused.modes.filter((m) => served === undefined || served.includes(m)),
                },
        });
      }
      return await spec.run(admitted);
    } catch (error) {
      const reason = error instanceof CallableFailure ? refusalKind(error.failure) : undefined;
      const count = spec.countRefusal;
      if (reason !== undefined && count !== undefined)
        await bestEffort(spec.log, `${spec.event}_refusal_count_failed`, { reason }, () =>
          count(reason),
        );
      throw exitError(error);
    }
  };
}

/**
 * Runs `step` (a refund, a hang-up of a call nobody will get) after a failure has been
 * decided; if it fails too, logs `message` with `fields` and carries on with that failure.
 * Returns whether the step succeeded.
 */
export async function bestEffort(
  log: Log,
  message: string,
  fields: Record<string, unknown>,
  step: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await step();
    return true;
  } catch (error) {
    log.error(message, { ...fields, error: describe(error) });
    return false;
  }
}

/**
 * Logs an upstream failure with what support needs (its kind, HTTP status, request id, code
 * and the field it names) and returns its kind, `unknown` for anything that is not an `UpstreamError`.
 */
export function logUpstreamFailure(
  log: Log,
  message: string,
  fields: Record<string, unknown>,
  error: unknown,
): UpstreamFailure | "unknown" {
  const upstream = error instanceof UpstreamError ? error : undefined;
  const kind = upstream?.kind ?? "unknown";
  log.error(message, {
    ...fields,
    kind,
    status: upstream?.details.status,
    requestId: upstream?.details.requestId,
    code: upstream?.details.code,
    param: upstream?.details.param,
    error: describe(error),
  });
  return kind;
}

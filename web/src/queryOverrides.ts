/**
 * The query string of an emulator build: test-only overrides of the configuration.
 */
import {
  NOISE_REDUCTIONS,
  TURN_DETECTIONS,
  VAD_EAGERNESS,
  type CallChoices,
  type RealtimeMode,
  type VoiceApi,
} from "voice-contract";
import type { AppConfig, TokenPrefetch } from "./config";

/** What an emulator build lets the page's query string change, for local tests. */
export interface QueryOverrides {
  /** False with `?appCheck=off`: start without App Check, to see the backend reject the call. */
  appCheck: boolean;
  /** `?prefetch=off|load|intent` replaces `VITE_TOKEN_PREFETCH` (bench:connect compares them). */
  tokenPrefetch: TokenPrefetch;
  /**
   * True with `?connect=load`: Connect as soon as the user is signed in, without a click, so
   * a test can see a browser refuse to play audio outside a gesture.
   */
  connectOnLoad: boolean;
  /**
   * `?mode=secret|brokered|live` replaces `VITE_REALTIME_MODE` and `VITE_VOICE_API` (the local
   * stack serves all three): `live` is a brokered call on GPT-Live, the other two run on
   * Realtime.
   */
  mode: RealtimeMode;
  api: VoiceApi;
  /**
   * `?turnDetection=…&eagerness=…&noiseReduction=…` preselect the pickers before the server's
   * choices are known, so the first mint (the load prefetch) already carries them. Absent
   * when none is given.
   */
  talk?: Pick<CallChoices, "turnDetection" | "eagerness" | "noiseReduction">;
}

/**
 * Reads the test-only query overrides from `search` (`location.search`). Only emulator builds
 * honour them; a production build (`config.emulators` null) ignores the query entirely.
 * Unknown values are ignored too.
 */
export function queryOverrides(config: AppConfig, search: string): QueryOverrides {
  const defaults: QueryOverrides = {
    appCheck: true,
    tokenPrefetch: config.tokenPrefetch,
    connectOnLoad: false,
    mode: config.mode,
    api: config.api,
  };
  if (!config.emulators) return defaults;
  const params = new URLSearchParams(search);
  const prefetch = params.get("prefetch");
  const mode = params.get("mode");
  return {
    appCheck: params.get("appCheck") !== "off",
    tokenPrefetch:
      prefetch === "load" || prefetch === "intent" || prefetch === "off"
        ? prefetch
        : defaults.tokenPrefetch,
    connectOnLoad: params.get("connect") === "load",
    ...modeOverride(mode, defaults),
    ...talkOverrides(params),
  };
}

function modeOverride(
  mode: string | null,
  defaults: QueryOverrides,
): Pick<QueryOverrides, "mode" | "api"> {
  if (mode === "live") return { mode: "brokered", api: "live" };
  if (mode === "secret" || mode === "brokered") return { mode, api: "realtime" };
  return { mode: defaults.mode, api: defaults.api };
}

function talkOverrides(params: URLSearchParams): Pick<QueryOverrides, "talk"> {
  const pick = <T extends string>(name: string, values: readonly T[]): T | undefined => {
    const value = params.get(name);
    return (values as readonly (string | null)[]).includes(value) ? (value as T) : undefined;
  };
  const talk = {
    turnDetection: pick("turnDetection", TURN_DETECTIONS),
    eagerness: pick("eagerness", VAD_EAGERNESS),
    noiseReduction: pick("noiseReduction", NOISE_REDUCTIONS),
  };
  const given = Object.fromEntries(Object.entries(talk).filter(([, v]) => v !== undefined));
  return Object.keys(given).length > 0 ? { talk: given } : {};
}

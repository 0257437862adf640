/**
 * The app's configuration, from `VITE_*` variables (see `web/.env.example`). `vite.config.ts`
 * parses them with {@link parseConfig} when it serves or builds (a build with missing
 * variables fails instead of shipping a broken app) and hands the page the parsed result.
 * Vite loads this module in Node, where it imports `voice-contract` for types only: Node
 * cannot load that package's TypeScript (the page's query overrides, which need its values,
 * are in `queryOverrides.ts`).
 */

import type { RealtimeMode, VoiceApi } from "voice-contract";
// Straight from its module: vite.config.ts loads this file in Node, where the realtime index
// would pull in voice-contract's values (the price tables) as TypeScript sources.
// eslint-disable-next-line no-restricted-imports -- see above
import { DEFAULT_CALLS_URL } from "./realtime/exchange";

export type { RealtimeMode, VoiceApi };

/** When the app fetches a client secret ahead of Connect. */
export type TokenPrefetch = "load" | "intent" | "off";

/** Validated configuration. */
export interface AppConfig {
  firebase: { apiKey: string; authDomain: string; projectId: string; appId: string };
  functionsRegion: string;
  /** Auth and Functions emulators plus a local App Check placeholder (no Google services). */
  emulators: { host: string; authPort: number; functionsPort: number } | null;
  /** reCAPTCHA Enterprise site key for App Check; null under the emulators. */
  recaptchaEnterpriseSiteKey: string | null;
  /** Where the browser posts its SDP offer. */
  openaiCallsUrl: string;
  tokenPrefetch: TokenPrefetch;
  /**
   * How calls are opened: `secret` (the browser posts its offer with an `ek_` secret from
   * `realtimeToken`) or `brokered` (`realtimeCall` posts it; minutes are counted and the
   * server hangs up at the deadline). The backend's `REALTIME_MODES` must serve it.
   */
  mode: RealtimeMode;
  /**
   * Which OpenAI API a brokered call runs on: `realtime`, or `live` (GPT-Live, which has no
   * client secrets, so it needs `mode` `brokered`). The backend's `BROKERED_APIS` must serve it.
   */
  api: VoiceApi;
}

/** Raised with every problem at once, each naming its variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(readonly problems: string[]) {
    super(
      `The web app's configuration is incomplete:\n${problems.map((p) => `  - ${p}`).join("\n")}\n` +
        "Set these in web/.env.production.local (see web/.env.example) or in the build environment.",
    );
  }
}

type Env = Readonly<Record<string, string | boolean | undefined>>;

/** Where the SDP offer goes unless `VITE_OPENAI_CALLS_URL` says otherwise: OpenAI itself. */
export const DEFAULT_OPENAI_CALLS_URL = DEFAULT_CALLS_URL;

/** Validates `env` (a Vite `import.meta.env` or `loadEnv` result). Throws {@link ConfigError}. */
export function parseConfig(env: Env): AppConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    if (typeof value !== "string") return undefined;
    const trimmed = value.trim();
    return trimmed === "" ? undefined : trimmed;
  };
  const required = (name: string, hint: string): string => {
    const value = read(name);
    if (value === undefined) problems.push(`${name} is missing (${hint}).`);
    return value ?? "";
  };
  const flag = (name: string): boolean => {
    const value = read(name);
    if (value === undefined || value === "false") return false;
    if (value === "true") return true;
    problems.push(`${name} must be "true" or "false", not "${value}".`);
    return false;
  };
  const port = (name: string, fallback: number): number => {
    const value = read(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) {
      problems.push(`${name} must be a port number, not "${value}".`);
    }
    return parsed;
  };

  const fromConsole = "Firebase console → Project settings → Your apps";
  const apiKey = required("VITE_FIREBASE_API_KEY", fromConsole);
  const projectId = required("VITE_FIREBASE_PROJECT_ID", fromConsole);
  const appId = required("VITE_FIREBASE_APP_ID", fromConsole);
  const authDomain = read("VITE_FIREBASE_AUTH_DOMAIN") ?? `${projectId}.firebaseapp.com`;
  const functionsRegion = read("VITE_FUNCTIONS_REGION") ?? "us-central1";
  const useEmulators = flag("VITE_USE_EMULATORS");

  const recaptchaEnterpriseSiteKey = useEmulators
    ? null
    : required(
        "VITE_RECAPTCHA_ENTERPRISE_SITE_KEY",
        "App Check needs it outside the emulators; Firebase console → App Check → Apps",
      );

  const openaiCallsUrl = read("VITE_OPENAI_CALLS_URL") ?? DEFAULT_OPENAI_CALLS_URL;
  if (!/^https?:\/\/[^/]+/.test(openaiCallsUrl)) {
    problems.push(`VITE_OPENAI_CALLS_URL must be an http(s) URL, not "${openaiCallsUrl}".`);
  } else if (!useEmulators && !openaiCallsUrl.startsWith("https://")) {
    problems.push("VITE_OPENAI_CALLS_URL must use https:// outside the emulators.");
  }

  const prefetch = read("VITE_TOKEN_PREFETCH") ?? "load";
  if (prefetch !== "load" && prefetch !== "intent" && prefetch !== "off") {
    problems.push(`VITE_TOKEN_PREFETCH must be "load", "intent" or "off", not "${prefetch}".`);
  }

  const mode = read("VITE_REALTIME_MODE") ?? "secret";
  if (mode !== "secret" && mode !== "brokered") {
    problems.push(
      `VITE_REALTIME_MODE must be "secret" or "brokered" (the backend's REALTIME_MODES must serve it), not "${mode}".`,
    );
  }

  const api = read("VITE_VOICE_API") ?? "realtime";
  if (api !== "realtime" && api !== "live") {
    problems.push(
      `VITE_VOICE_API must be "realtime" or "live" (the backend's BROKERED_APIS must serve it), not "${api}".`,
    );
  } else if (api === "live" && mode !== "brokered") {
    problems.push(
      'VITE_VOICE_API "live" needs VITE_REALTIME_MODE "brokered": GPT-Live has no client secrets.',
    );
  }

  const emulators = useEmulators
    ? {
        host: read("VITE_EMULATOR_HOST") ?? "127.0.0.1",
        authPort: port("VITE_AUTH_EMULATOR_PORT", 9099),
        functionsPort: port("VITE_FUNCTIONS_EMULATOR_PORT", 5001),
      }
    : null;

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    firebase: { apiKey, authDomain, projectId, appId },
    functionsRegion,
    emulators,
    recaptchaEnterpriseSiteKey,
    openaiCallsUrl,
    tokenPrefetch: prefetch as TokenPrefetch,
    mode: mode as RealtimeMode,
    api: api as VoiceApi,
  };
}

/** What `vite.config.ts` parsed from the `VITE_*` variables (its `define`). */
declare const __APP_CONFIG__: AppConfig;

/** The app's configuration, as `vite.config.ts` parsed it from the environment. */
export function getConfig(): AppConfig {
  return __APP_CONFIG__;
}

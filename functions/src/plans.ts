/**
 * Plans: who gets how many minutes. Pure: the declaration (the VOICE_PLANS param) is parsed
 * and checked here, and a caller's plan is resolved from the custom claims of their ID token.
 *
 * A plan only overrides: each field it leaves out keeps the value of the param it replaces, so
 * without any declaration every user is on the default plan, which is exactly the params.
 * Plans change limits, never the stored usage: a user moved to another plan mid-day keeps the
 * seconds and mints already counted today and meets the new plan's limits on the next call.
 */
import { REALTIME_MODES, type RealtimeMode } from "voice-contract";
import { ConfigError } from "./configError";
import type { MinuteLimits } from "./minutes";
import type { Limits } from "./policy";
import type { VoiceSettings } from "./voiceSettings";

/** The custom claim that names a user's plan; set only with the Admin SDK (scripts/plan.ts). */
export const PLAN_CLAIM = "voicePlan";

/** The plan of users whose token names none; declare a plan of this name to change it. */
export const DEFAULT_PLAN = "default";

/** The param that declares the plans. */
export const PLANS_PARAM = "VOICE_PLANS";

const PLAN_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** A plan's overrides, in the settings' units; a field left out keeps its param's value. */
export interface Plan {
  dailySeconds?: number;
  monthlySeconds?: number;
  maxCallSeconds?: number;
  userDailyQuota?: number;
  userMinIntervalMs?: number;
  /** The modes its users may use; left out, every mode the backend serves. */
  modes?: RealtimeMode[];
  /** The Realtime models its users may run; left out, any (the server picks the model). */
  models?: string[];
}

/** Every declared plan by name; {@link DEFAULT_PLAN} is always there (empty when undeclared). */
export type PlanBook = Readonly<Record<string, Plan>>;

/** The fields of a plan in VOICE_PLANS, in the params' units, with their ranges. */
const INTEGER_FIELDS = {
  dailyMinutes: { min: 1, max: Infinity, to: "dailySeconds", scale: 60 },
  monthlyMinutes: { min: 0, max: Infinity, to: "monthlySeconds", scale: 60 },
  maxCallSeconds: { min: 1, max: 3600, to: "maxCallSeconds", scale: 1 },
  mintsPerDay: { min: 0, max: Infinity, to: "userDailyQuota", scale: 1 },
  mintIntervalSeconds: { min: 0, max: Infinity, to: "userMinIntervalMs", scale: 1000 },
} as const;
const LIST_FIELDS = ["modes", "models"] as const;

function bad(plan: string, field: string, problem: string): never {
  throw new ConfigError(PLANS_PARAM, `plan "${plan}": ${field} ${problem}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parsePlan(name: string, declared: unknown): Plan {
  if (!PLAN_NAME.test(name))
    throw new ConfigError(
      PLANS_PARAM,
      `plan name "${name.slice(0, 80)}" must be 1–64 letters, digits, _ or -`,
    );
  if (!isObject(declared)) bad(name, "", 'must be an object of limits, e.g. { "dailyMinutes": 5 }');
  const plan: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(declared)) {
    if (field in INTEGER_FIELDS) {
      const rule = INTEGER_FIELDS[field as keyof typeof INTEGER_FIELDS];
      if (
        typeof value !== "number" ||
        !Number.isInteger(value) ||
        value < rule.min ||
        value > rule.max
      ) {
        const range = rule.max === Infinity ? `>= ${rule.min}` : `from ${rule.min} to ${rule.max}`;
        bad(name, field, `must be an integer ${range}, got ${JSON.stringify(value)}`);
      }
      plan[rule.to] = value * rule.scale;
    } else if (field === "modes") {
      plan.modes = list(name, field, value, (v) =>
        (REALTIME_MODES as readonly string[]).includes(v)
          ? undefined
          : `"${v}" is not one of ${REALTIME_MODES.join(", ")}`,
      );
    } else if (field === "models") {
      plan.models = list(name, field, value, () => undefined);
    } else {
      const known = [...Object.keys(INTEGER_FIELDS), ...LIST_FIELDS].join(", ");
      bad(name, field, `is not a plan field (known: ${known})`);
    }
  }
  return plan as Plan;
}

function list(
  plan: string,
  field: string,
  value: unknown,
  problem: (entry: string) => string | undefined,
): string[] {
  if (!Array.isArray(value) || value.length === 0)
    bad(plan, field, "must be a non-empty array of strings");
  const entries = value.map((entry) =>
    typeof entry === "string" ? entry.trim() : bad(plan, field, "must hold only strings"),
  );
  for (const entry of entries) {
    if (entry === "") bad(plan, field, "must not hold an empty string");
    const wrong = problem(entry);
    if (wrong !== undefined) bad(plan, field, wrong);
  }
  return [...new Set(entries)];
}

/**
 * Parses and checks VOICE_PLANS: a JSON object from plan name to its overrides, e.g.
 * `{"default":{"dailyMinutes":5},"pro":{"dailyMinutes":120,"modes":["brokered"]}}`.
 * Empty declares nothing (every user on the params). Throws a {@link ConfigError} naming
 * the plan and the field.
 */
export function parsePlans(json: string): PlanBook {
  const text = json.trim();
  if (text === "") return { [DEFAULT_PLAN]: {} };
  let declared: unknown;
  try {
    declared = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      PLANS_PARAM,
      `is not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (!isObject(declared))
    throw new ConfigError(PLANS_PARAM, 'must be a JSON object: {"<plan>": { ...limits }}');
  const book: Record<string, Plan> = { [DEFAULT_PLAN]: {} };
  for (const [name, plan] of Object.entries(declared)) book[name] = parsePlan(name, plan);
  return book;
}

/** A caller's plan: its name, its overrides, and why the claim was not honoured, if it was not. */
export interface ResolvedPlan {
  name: string;
  plan: Plan;
  /** Set when the claim names no declared plan: the caller gets the default, and this is logged. */
  warning?: { claimed: string; problem: string };
}

/**
 * The plan of a caller with these ID-token claims. A claim naming no declared plan gets the
 * default plan and a warning, never a failure: a stale claim must not lock a user out.
 */
export function resolvePlan(claims: unknown, book: PlanBook): ResolvedPlan {
  const fallback = { name: DEFAULT_PLAN, plan: book[DEFAULT_PLAN] ?? {} };
  const claimed = isObject(claims) ? claims[PLAN_CLAIM] : undefined;
  if (claimed === undefined || claimed === null) return fallback;
  if (typeof claimed !== "string")
    return {
      ...fallback,
      warning: {
        claimed: JSON.stringify(claimed).slice(0, 80),
        problem: `the ${PLAN_CLAIM} claim is not a string`,
      },
    };
  const plan = Object.hasOwn(book, claimed) ? book[claimed] : undefined;
  if (plan === undefined)
    return {
      ...fallback,
      warning: { claimed: claimed.slice(0, 80), problem: `no plan "${claimed}" in ${PLANS_PARAM}` },
    };
  return { name: claimed, plan };
}

/** The mint limits under `plan`: the per-network limit is the backend's, not a user's. */
export function planMintLimits(limits: Limits, plan: Plan): Limits {
  return {
    ...limits,
    userDailyQuota: plan.userDailyQuota ?? limits.userDailyQuota,
    userMinIntervalMs: plan.userMinIntervalMs ?? limits.userMinIntervalMs,
  };
}

/** The voice-minute limits under `plan`. */
export function planMinuteLimits(limits: MinuteLimits, plan: Plan): MinuteLimits {
  return {
    dailySeconds: plan.dailySeconds ?? limits.dailySeconds,
    monthlySeconds: plan.monthlySeconds ?? limits.monthlySeconds,
    maxCallSeconds: plan.maxCallSeconds ?? limits.maxCallSeconds,
  };
}

/**
 * The upstreams a plan's users may open calls on: Live only when its `models` (if any) list
 * LIVE_MODEL. Never empty: a plan that allows none keeps the backend's list, and the call is
 * refused for its model when it comes (callOpen.ts), as any call on a model the plan leaves out.
 */
export function planApis(
  voice: Pick<VoiceSettings, "apis" | "liveModel">,
  plan: Plan,
): VoiceSettings["apis"] {
  const models = plan.models;
  if (models === undefined) return voice.apis;
  const [first, ...rest] = voice.apis.filter(
    (api) => api !== "live" || models.includes(voice.liveModel),
  );
  return first === undefined ? voice.apis : [first, ...rest];
}

/** The settings parts a plan changes; each is optional, so any callable's settings fit. */
export interface PlannedSettings {
  plans?: PlanBook;
  limits?: Limits;
  voice?: VoiceSettings;
  /** The model the server runs, which a plan's `models` may not allow. */
  server?: { model: string };
}

/** `settings` with the limits of `plan`, everything else unchanged. */
export function applyPlan<S extends PlannedSettings>(settings: S, plan: Plan): S {
  const planned: S = { ...settings };
  if (settings.limits !== undefined) planned.limits = planMintLimits(settings.limits, plan);
  if (settings.voice !== undefined)
    planned.voice = {
      ...settings.voice,
      limits: planMinuteLimits(settings.voice.limits, plan),
      apis: planApis(settings.voice, plan),
    };
  return planned;
}

/** What `plan` refuses of a call in `mode` that would run `model`, if anything. */
export function planRefusal(
  plan: Plan,
  mode: RealtimeMode,
  model: string | undefined,
): { refused: "mode"; modes: RealtimeMode[] } | { refused: "model"; model: string } | undefined {
  if (plan.modes !== undefined && !plan.modes.includes(mode))
    return { refused: "mode", modes: plan.modes };
  if (plan.models !== undefined && model !== undefined && !plan.models.includes(model))
    return { refused: "model", model };
  return undefined;
}

/**
 * A small JSON validator that reports the first problem with upstream's error codes and
 * dotted parameter paths (`session.audio.output.voice`). Pure; never throws.
 */
import { errors, type ApiError } from "./api-errors.js";

/** A problem, or `undefined` when the value is fine. Chain checks with `??`. */
export type Check = ApiError | undefined;

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function unknownKeys(obj: JsonObject, path: string, allowed: readonly string[]): Check {
  const extra = Object.keys(obj).find((key) => !allowed.includes(key));
  return extra === undefined ? undefined : errors.unknownParameter(join(path, extra));
}

export function requireKeys(obj: JsonObject, path: string, keys: readonly string[]): Check {
  const missing = keys.find((key) => obj[key] === undefined);
  return missing === undefined ? undefined : errors.missingParameter(join(path, missing));
}

/** `undefined` means "absent" throughout: optional fields are checked only when present. */
export function optional(value: unknown, check: (value: unknown) => Check): Check {
  return value === undefined ? undefined : check(value);
}

export function object(
  value: unknown,
  path: string,
  allowed: readonly string[],
  required: readonly string[] = [],
): Check {
  if (!isObject(value)) return errors.invalidType(path, "an object", value);
  return unknownKeys(value, path, allowed) ?? requireKeys(value, path, required);
}

export function string(value: unknown, path: string): Check {
  return typeof value === "string" ? undefined : errors.invalidType(path, "a string", value);
}

export function boolean(value: unknown, path: string): Check {
  return typeof value === "boolean" ? undefined : errors.invalidType(path, "a boolean", value);
}

export function integer(value: unknown, path: string, min?: number, max?: number): Check {
  if (typeof value !== "number" || !Number.isInteger(value))
    return errors.invalidType(path, "an integer", value);
  return range(value, path, "integer", min, max);
}

export function number(value: unknown, path: string, min?: number, max?: number): Check {
  if (typeof value !== "number" || !Number.isFinite(value))
    return errors.invalidType(path, "a number", value);
  return range(value, path, "decimal", min, max);
}

function range(
  value: number,
  path: string,
  kind: "integer" | "decimal",
  min?: number,
  max?: number,
): Check {
  if (min !== undefined && value < min) return errors.belowMinimum(path, min, value, kind);
  if (max !== undefined && value > max) return errors.aboveMaximum(path, max, value, kind);
  return undefined;
}

export function oneOf(value: unknown, path: string, allowed: readonly string[]): Check {
  if (typeof value !== "string") return errors.invalidType(path, "a string", value);
  return allowed.includes(value) ? undefined : errors.invalidValue(path, value, allowed);
}

export function array(
  value: unknown,
  path: string,
  item: (value: unknown, path: string) => Check,
): Check {
  if (!Array.isArray(value)) return errors.invalidType(path, "an array", value);
  for (const [index, element] of value.entries()) {
    const problem = item(element, join(path, index));
    if (problem) return problem;
  }
  return undefined;
}

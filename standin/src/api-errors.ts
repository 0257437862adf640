/**
 * OpenAI's error object, as found in HTTP error bodies (`{ error: … }`) and in the
 * Realtime `error` event. Messages follow upstream's wording so clients that show them
 * (or tests that match them) behave the same against the stand-in and the real API.
 */
export interface ApiErrorBody {
  message: string;
  type: string;
  code: string | null;
  param: string | null;
}

/** An error with the HTTP status upstream would answer with. */
export interface ApiError extends ApiErrorBody {
  status: number;
}

/** Either a value or the first problem found, as upstream reports only one. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T>(error: ApiError): Result<T> => ({ ok: false, error });

function invalidRequest(message: string, code: string | null, param: string | null): ApiError {
  return { status: 400, message, type: "invalid_request_error", code, param };
}

/** How upstream names a JSON value's type in `invalid_type` messages. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a decimal";
  if (typeof value === "string") return "a string";
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "object") return "an object";
  return typeof value;
}

export const errors = {
  unknownParameter: (param: string) =>
    invalidRequest(`Unknown parameter: '${param}'.`, "unknown_parameter", param),
  missingParameter: (param: string) =>
    invalidRequest(`Missing required parameter: '${param}'.`, "missing_required_parameter", param),
  invalidType: (param: string, expected: string, value: unknown) =>
    invalidRequest(
      `Invalid type for '${param}': expected ${expected}, but got ${describeType(value)} instead.`,
      "invalid_type",
      param,
    ),
  invalidValue: (param: string, value: unknown, supported?: readonly string[]) =>
    invalidRequest(
      `Invalid value: ${JSON.stringify(value)?.replaceAll('"', "'") ?? String(value)}.` +
        (supported ? ` Supported values are: ${supported.map((s) => `'${s}'`).join(", ")}.` : ""),
      "invalid_value",
      param,
    ),
  belowMinimum: (param: string, min: number, value: number, kind: "integer" | "decimal") =>
    invalidRequest(
      `Invalid '${param}': ${kind} below minimum value. ` +
        `Expected a value >= ${min}, but got ${value} instead.`,
      `${kind}_below_min_value`,
      param,
    ),
  aboveMaximum: (param: string, max: number, value: number, kind: "integer" | "decimal") =>
    invalidRequest(
      `Invalid '${param}': ${kind} above maximum value. ` +
        `Expected a value <= ${max}, but got ${value} instead.`,
      `${kind}_above_max_value`,
      param,
    ),
  unsupported: (param: string, message: string) =>
    invalidRequest(message, "unsupported_value", param),
  invalidRequest,
  invalidJsonBody: () =>
    invalidRequest(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using " +
        "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was " +
        "not valid JSON.)",
      null,
      null,
    ),
  invalidApiKey: (message = "Incorrect API key provided.") =>
    ({
      status: 401,
      message,
      type: "invalid_request_error",
      code: "invalid_api_key",
      param: null,
    }) satisfies ApiError,
  invalidUrl: (method: string, path: string) =>
    ({
      status: 404,
      message: `Invalid URL (${method} ${path})`,
      type: "invalid_request_error",
      code: null,
      param: null,
    }) satisfies ApiError,
  notFound: (message: string) =>
    ({
      status: 404,
      message,
      type: "invalid_request_error",
      code: null,
      param: null,
    }) satisfies ApiError,
  /** The body upstream sends for a given status, used by injected faults. */
  forStatus: (status: number): ApiError => {
    if (status === 401) return errors.invalidApiKey();
    if (status === 429)
      return {
        status,
        message: "Rate limit reached for requests (injected by the stand-in).",
        type: "requests",
        code: "rate_limit_exceeded",
        param: null,
      };
    if (status >= 500)
      return {
        status,
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        code: "server_error",
        param: null,
      };
    return {
      status,
      message: `Injected ${status} error.`,
      type: "invalid_request_error",
      code: null,
      param: null,
    };
  },
};

/** Strips the HTTP status: what goes into a response body or an `error` event. */
export function errorBody(error: ApiError): ApiErrorBody {
  return { message: error.message, type: error.type, code: error.code, param: error.param };
}

/**
 * `POST /v1/realtime/client_secrets`: body validation and the response upstream sends.
 * Pure: the caller supplies identifiers and the current time.
 */
import type {
  ClientSecretCreateParams,
  ClientSecretCreateResponse,
} from "openai/resources/realtime/client-secrets";
import type { RealtimeSessionCreateRequest } from "openai/resources/realtime/realtime";
import { errors, fail, ok, type Result } from "./api-errors.js";
import type { NewId } from "./ids.js";
import { resolveSession, validateSessionRequest, type Session } from "./session.js";
import { allKeys } from "./type-utils.js";
import * as v from "./validate.js";

const BODY_KEYS = allKeys<ClientSecretCreateParams>()(["expires_after", "session"]);
const EXPIRES_AFTER_KEYS = allKeys<ClientSecretCreateParams.ExpiresAfter>()(["anchor", "seconds"]);

/** Upstream's bounds and default for `expires_after.seconds`. */
export const SECRET_TTL = { min: 10, max: 7200, default: 600 } as const;

export interface ClientSecretRequest {
  ttlSeconds: number;
  session: RealtimeSessionCreateRequest;
}

/** Validates a parsed JSON body; an absent body or `{}` mints a default realtime session. */
export function parseClientSecretRequest(body: unknown): Result<ClientSecretRequest> {
  const input = body === undefined ? {} : body;
  const problem = v.object(input, "", BODY_KEYS);
  if (problem)
    return fail(problem.param === "" ? errors.invalidType("body", "an object", input) : problem);
  const { expires_after: expiresAfter, session } = input as v.JsonObject;

  const ttlProblem = v.optional(
    expiresAfter,
    (e) =>
      v.object(e, "expires_after", EXPIRES_AFTER_KEYS) ??
      v.optional((e as v.JsonObject).anchor, (a) =>
        v.oneOf(a, "expires_after.anchor", ["created_at"]),
      ) ??
      v.optional((e as v.JsonObject).seconds, (s) =>
        v.integer(s, "expires_after.seconds", SECRET_TTL.min, SECRET_TTL.max),
      ),
  );
  if (ttlProblem) return fail(ttlProblem);
  const ttlSeconds =
    ((expiresAfter as v.JsonObject | undefined)?.seconds as number | undefined) ??
    SECRET_TTL.default;

  if (session === undefined) return ok({ ttlSeconds, session: { type: "realtime" } });
  const validated = validateSessionRequest(session, "session");
  return validated.ok ? ok({ ttlSeconds, session: validated.value }) : validated;
}

/** A minted secret as the stand-in stores it. `expiresAt` is in unix seconds, like upstream. */
export interface IssuedSecret {
  value: string;
  expiresAt: number;
  session: Session;
}

export function issueSecret(
  request: ClientSecretRequest,
  newId: NewId,
  nowMs: number,
): IssuedSecret {
  const expiresAt = Math.floor(nowMs / 1000) + request.ttlSeconds;
  // Upstream reports the session's own expiry as 0 until a call starts it.
  const session = resolveSession(request.session, { id: newId("sess"), expiresAt: 0 });
  return { value: newId("ek"), expiresAt, session };
}

export function clientSecretResponse(secret: IssuedSecret): ClientSecretCreateResponse {
  return {
    value: secret.value,
    expires_at: secret.expiresAt,
    session: secret.session,
  } satisfies ClientSecretCreateResponse;
}

/** Upstream treats a secret as dead from its `expires_at` second on. */
export function isExpired(secret: IssuedSecret, nowMs: number): boolean {
  return nowMs / 1000 >= secret.expiresAt;
}

/**
 * `POST /v1/realtime/calls` as a server posts it ("unified interface"): a standard key and a
 * `multipart/form-data` body with the parts `sdp` (the browser's offer) and `session` (JSON,
 * the same shape as `client_secrets`' session, validated the same way). The call then runs with
 * that session. Parsing uses the platform's own multipart parser (undici's `Response.formData`).
 */
import type { RealtimeSessionCreateRequest } from "openai/resources/realtime/realtime";
import { errors, fail, ok, type Result } from "./api-errors.js";
import { validateSessionRequest } from "./session.js";

/** A parsed and validated call form. */
export interface CallForm {
  /** The offer, verbatim. */
  sdp: string;
  /** The session the call runs with; `{ type: "realtime" }` when the part is absent. */
  session: RealtimeSessionCreateRequest;
}

export const MULTIPART = "multipart/form-data";

/**
 * Parses a multipart call form. `contentType` is the request's full header (with the boundary).
 * A part may be a plain field or a file part (the openai SDKs send `sdp` as `application/sdp`
 * and `session` as `application/json` file parts); both are read as text.
 */
export async function parseCallForm(body: Buffer, contentType: string): Promise<Result<CallForm>> {
  let form: ParsedForm;
  try {
    const response = new Response(new Uint8Array(body), {
      headers: { "content-type": contentType },
    });
    form = (await response.formData()) as unknown as ParsedForm;
  } catch {
    return fail(
      errors.invalidRequest(
        "Could not parse the multipart form. Send 'multipart/form-data' with a boundary and the parts 'sdp' and 'session'.",
        "invalid_multipart_form",
        null,
      ),
    );
  }
  const names = new Set<string>();
  form.forEach((_, name) => names.add(name));
  for (const name of names)
    if (name !== "sdp" && name !== "session") return fail(errors.unknownParameter(name));

  const sdp = await partText(form, "sdp");
  if (sdp === undefined || sdp.trim() === "") return fail(errors.missingParameter("sdp"));

  const rawSession = await partText(form, "session");
  if (rawSession === undefined) return ok({ sdp, session: { type: "realtime" } });
  let session: unknown;
  try {
    session = JSON.parse(rawSession);
  } catch {
    return fail(
      errors.invalidRequest(
        "The 'session' part is not valid JSON. Send the session configuration as a JSON object.",
        "invalid_json",
        "session",
      ),
    );
  }
  const validated = validateSessionRequest(session, "session");
  return validated.ok ? ok({ sdp, session: validated.value }) : validated;
}

/**
 * What is used of the parsed `FormData`; typed here because the projects that compile this
 * module (the stand-in's, the scripts') do not all have the DOM's `FormData` type.
 */
interface ParsedForm {
  get(name: string): string | Blob | null;
  forEach(callback: (value: unknown, name: string) => void): void;
}

async function partText(form: ParsedForm, name: string): Promise<string | undefined> {
  const value = form.get(name);
  if (value === null) return undefined;
  return typeof value === "string" ? value : value.text();
}

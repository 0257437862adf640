import { describe, expect, it } from "vitest";
import {
  clientSecretResponse,
  isExpired,
  issueSecret,
  parseClientSecretRequest,
} from "../src/client-secret-request.js";
import { sequentialIds } from "../src/ids.js";

describe("parseClientSecretRequest", () => {
  it("defaults to a 600 s realtime session for an empty body", () => {
    expect(parseClientSecretRequest(undefined)).toEqual({
      ok: true,
      value: { ttlSeconds: 600, session: { type: "realtime" } },
    });
    expect(parseClientSecretRequest({})).toMatchObject({ ok: true, value: { ttlSeconds: 600 } });
  });

  it.each([
    [[], "invalid_type", "body"],
    [{ foo: 1 }, "unknown_parameter", "foo"],
    [{ expires_after: { anchor: "now", seconds: 60 } }, "invalid_value", "expires_after.anchor"],
    [{ expires_after: { seconds: 9 } }, "integer_below_min_value", "expires_after.seconds"],
    [{ expires_after: { seconds: 7201 } }, "integer_above_max_value", "expires_after.seconds"],
    [{ expires_after: { seconds: 60.5 } }, "invalid_type", "expires_after.seconds"],
    [{ expires_after: { seconds: 60, ttl: 1 } }, "unknown_parameter", "expires_after.ttl"],
    [{ session: { model: "gpt-realtime" } }, "missing_required_parameter", "session.type"],
    [{ session: { type: "realtime", voice: "alloy" } }, "unknown_parameter", "session.voice"],
  ])("rejects %j (%s at %s)", (body, code, param) => {
    const result = parseClientSecretRequest(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ status: 400, code, param });
  });

  it("accepts the bounds of expires_after.seconds", () => {
    for (const seconds of [10, 7200])
      expect(
        parseClientSecretRequest({ expires_after: { anchor: "created_at", seconds } }),
      ).toMatchObject({
        ok: true,
        value: { ttlSeconds: seconds },
      });
  });
});

describe("issueSecret", () => {
  it("expires ttl seconds after creation, in unix seconds", () => {
    const now = 1_800_000_000_500;
    const secret = issueSecret(
      { ttlSeconds: 60, session: { type: "realtime" } },
      sequentialIds(),
      now,
    );
    expect(secret.value).toBe("ek_1");
    expect(secret.expiresAt).toBe(1_800_000_060);
    expect(isExpired(secret, now + 59_000)).toBe(false);
    expect(isExpired(secret, 1_800_000_060_000)).toBe(true);
    const body = clientSecretResponse(secret);
    expect(body).toMatchObject({
      value: "ek_1",
      expires_at: 1_800_000_060,
      session: { id: "sess_1", type: "realtime" },
    });
  });
});

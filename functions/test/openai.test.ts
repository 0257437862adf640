import { describe, expect, it } from "vitest";
import { createOpenAiMinter, type MintRequest, redactCredentials } from "../src/openai";
import { REAL_TIME } from "./helpers/timeouts";
import { upstreamFailure as failure } from "./helpers/upstream";

const request: MintRequest = {
  apiKey: "sk-test-1234567890",
  ttlSeconds: 120,
  timeoutMs: 2_000,
  session: { type: "realtime", model: "gpt-realtime-2", output_modalities: ["audio"] },
};

interface Seen {
  url: string;
  method: string;
  headers: Headers;
  body: unknown;
}

/** A fetch that records each call and answers with `respond`. */
function fakeFetch(
  respond: (seen: Seen, signal?: AbortSignal | null) => Promise<Response> | Response,
) {
  const calls: Seen[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const seen = {
      url: String(input instanceof Request ? input.url : input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? JSON.parse(init.body) : init?.body,
    };
    calls.push(seen);
    return respond(seen, init?.signal);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "x-request-id": "req_abc", ...headers },
  });
}

describe("createOpenAiMinter", () => {
  it("posts the GA client_secrets request with the key and returns the secret", async () => {
    const { fetch, calls } = fakeFetch(() =>
      json(200, {
        value: "ek_123",
        expires_at: 1_800_000_000,
        session: { type: "realtime", model: "gpt-realtime-2" },
      }),
    );
    const mint = createOpenAiMinter({ baseURL: "http://127.0.0.1:9/v1", fetch });
    await expect(mint(request)).resolves.toEqual({
      value: "ek_123",
      expiresAt: 1_800_000_000,
      model: "gpt-realtime-2",
      requestId: "req_abc",
    });
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.url).toBe("http://127.0.0.1:9/v1/realtime/client_secrets");
    expect(call?.method).toBe("POST");
    expect(call?.headers.get("authorization")).toBe("Bearer sk-test-1234567890");
    expect(call?.body).toEqual({
      expires_after: { anchor: "created_at", seconds: 120 },
      session: request.session,
    });
  });

  it("treats a secret that has already expired as a malformed answer", async () => {
    const now = Math.floor(Date.now() / 1000);
    const { fetch } = fakeFetch(() =>
      json(200, { value: "ek_stale", expires_at: now - 5, session: { model: "gpt-realtime-2" } }),
    );
    const error = await failure(
      createOpenAiMinter({ baseURL: "http://upstream.test/v1", fetch })(request),
    );
    expect(error.kind).toBe("malformed");
    expect(error.message).not.toContain("ek_stale");
  });

  it("classifies a refused key as auth, without the key in the message", async () => {
    const { fetch } = fakeFetch(() =>
      json(401, {
        error: {
          message: "Incorrect API key provided: sk-test-****7890. You can find your API key at …",
          type: "invalid_request_error",
          code: "invalid_api_key",
        },
      }),
    );
    const error = await failure(createOpenAiMinter({ baseURL: "http://x/v1", fetch })(request));
    expect(error.kind).toBe("auth");
    expect(error.details).toMatchObject({
      status: 401,
      requestId: "req_abc",
      code: "invalid_api_key",
    });
    expect(error.message).not.toMatch(/sk-/);
    expect(error.message).toContain("[redacted]");
  });

  it("classifies 429 as rate, with OpenAI's Retry-After", async () => {
    const { fetch, calls } = fakeFetch(() =>
      json(
        429,
        { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
        { "retry-after": "7" },
      ),
    );
    const error = await failure(createOpenAiMinter({ baseURL: "http://x/v1", fetch })(request));
    expect(error.kind).toBe("rate");
    expect(error.details.retryAfterSeconds).toBe(7);
    expect(calls).toHaveLength(1);
  });

  it("classifies 5xx as unavailable and does not retry behind the caller's back", async () => {
    const { fetch, calls } = fakeFetch(() =>
      json(503, { error: { message: "overloaded", type: "server_error" } }),
    );
    const error = await failure(createOpenAiMinter({ baseURL: "http://x/v1", fetch })(request));
    expect(error.kind).toBe("unavailable");
    expect(error.details.status).toBe(503);
    expect(calls).toHaveLength(1);
  });

  it("classifies other 4xx as a rejected config", async () => {
    const { fetch } = fakeFetch(() =>
      json(400, {
        error: { message: "Invalid model", type: "invalid_request_error", param: "session.model" },
      }),
    );
    const error = await failure(createOpenAiMinter({ baseURL: "http://x/v1", fetch })(request));
    expect(error.kind).toBe("rejected");
    // The field it names decides whose mistake it is (failure.ts).
    expect(error.details).toMatchObject({ status: 400, param: "session.model" });
  });

  it("times out a hanging request", REAL_TIME, async () => {
    const { fetch } = fakeFetch(
      (_seen, signal) =>
        new Promise<Response>((_resolve, reject) => {
          signal?.addEventListener("abort", () =>
            reject(new DOMException("aborted", "AbortError")),
          );
        }),
    );
    const started = Date.now();
    const error = await failure(
      createOpenAiMinter({ baseURL: "http://x/v1", fetch })({ ...request, timeoutMs: 100 }),
    );
    expect(error.kind).toBe("unavailable");
    expect(error.details.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("classifies a network failure as unavailable", async () => {
    const { fetch } = fakeFetch(() => {
      throw new TypeError("fetch failed");
    });
    const error = await failure(createOpenAiMinter({ baseURL: "http://x/v1", fetch })(request));
    expect(error.kind).toBe("unavailable");
  });

  it.each([
    [
      "plain text",
      () =>
        new Response("<html>oops</html>", {
          status: 200,
          headers: { "content-type": "text/html" },
        }),
    ],
    [
      "broken JSON",
      () =>
        new Response("{not json", { status: 200, headers: { "content-type": "application/json" } }),
    ],
    ["JSON without a secret", () => json(200, { hello: "world" })],
    ["a secret that is not ek_", () => json(200, { value: "sk-leak", expires_at: 1, session: {} })],
    ["a non-numeric expiry", () => json(200, { value: "ek_1", expires_at: "soon", session: {} })],
  ])("classifies a 200 with %s as malformed", async (_name, respond) => {
    const { fetch } = fakeFetch(respond);
    const error = await failure(createOpenAiMinter({ baseURL: "http://x/v1", fetch })(request));
    expect(error.kind).toBe("malformed");
  });
});

describe("redactCredentials", () => {
  it("removes keys and secrets, leaves words alone", () => {
    expect(redactCredentials("key sk-proj-AbC_12.3 and ek_68af29 and rk-x")).toBe(
      "key [redacted] and [redacted] and [redacted]",
    );
    expect(redactCredentials("task-force desk_lamp")).toBe("task-force desk_lamp");
  });
});

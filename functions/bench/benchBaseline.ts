/**
 * The floor `npm run bench:mint` compares realtimeToken with: the reference design's callable,
 * doing only a per-user transaction and the mint. Exported by index.ts under the emulator with
 * BENCH_BASELINE=true only (functions/.env.demo-realtime-bench); built into lib/ only for
 * bench:mint (FUNCTIONS_BUILD_BENCH=true, see build.mts), so it is never deployed.
 *
 * `benchWarmup` does nothing; the bench calls it first, so that neither cold call it measures
 * pays for the emulator's first invocation or for reading Firestore's and OpenAI's client
 * modules from a cold disk (this module imports both).
 */
import { getFirestore } from "firebase-admin/firestore";
import { HttpsError, onCall } from "firebase-functions/v2/https";
import OpenAI from "openai";
import { ALLOWED_ORIGINS, OPENAI_API_KEY } from "../src/config";

export const benchBareMint = onCall(
  { cors: ALLOWED_ORIGINS, enforceAppCheck: true, secrets: [OPENAI_API_KEY] },
  async (request) => {
    const uid = request.auth?.uid;
    if (!uid) throw new HttpsError("unauthenticated", "Sign in required.");
    const db = getFirestore();
    const ref = db.doc(`benchBareMint/${uid}`);
    const now = Date.now();
    await db.runTransaction(async (tx) => {
      const last = ((await tx.get(ref)).data()?.lastMintMs as number | undefined) ?? 0;
      if (now - last < 5_000) throw new HttpsError("resource-exhausted", "Slow down.");
      tx.set(ref, { lastMintMs: now });
    });
    const client = new OpenAI({ apiKey: OPENAI_API_KEY.value(), maxRetries: 0 });
    const secret = await client.realtime.clientSecrets.create({
      expires_after: { anchor: "created_at", seconds: 120 },
      session: { type: "realtime", model: "gpt-realtime-2" },
    });
    return { token: secret.value, expiresAtMs: secret.expires_at * 1000 };
  },
);

export const benchWarmup = onCall({ cors: ALLOWED_ORIGINS, enforceAppCheck: true }, () => ({
  ok: true,
}));

/**
 * Cloud Functions entry point. Each export is a deployed function.
 */
import { getApps, initializeApp } from "firebase-admin/app";

if (getApps().length === 0) initializeApp();

export { realtimeToken } from "./realtimeToken";

// The benchmark's baseline: emulator only, never part of a deploy.
if (process.env.FUNCTIONS_EMULATOR === "true" && process.env.BENCH_BASELINE === "true") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  exports.benchBareMint = require("./benchBaseline").benchBareMint;
}

/**
 * Cloud Functions entry point. Each export is a deployed function.
 */
import { getApps, initializeApp } from "firebase-admin/app";

if (getApps().length === 0) initializeApp();

export { realtimeToken } from "./realtimeToken";
export { endRealtimeCall, realtimeCall } from "./realtimeCall";
export { hangUpRealtimeCall } from "./hangupTask";

// The benchmark's baseline: emulator only, never part of a deploy. Each emulator worker serves
// one function (FUNCTION_TARGET); realtimeToken's does not load the baseline's modules, as a
// deployed instance would not.
const target = process.env.FUNCTION_TARGET;
if (
  process.env.FUNCTIONS_EMULATOR === "true" &&
  process.env.BENCH_BASELINE === "true" &&
  (target === undefined || target === "" || target.startsWith("bench"))
) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bench = require("./benchBaseline");
  exports.benchBareMint = bench.benchBareMint;
  exports.benchWarmup = bench.benchWarmup;
}

/**
 * Cloud Functions entry point. Each export is a deployed function.
 *
 * Every function's instance loads this file, so each export is required only where it is
 * served: deployed instances and emulator workers name their function in FUNCTION_TARGET, and
 * deploy-time discovery (no target) sees them all. A cold realtimeToken instance then loads
 * none of the brokered-call modules, and the reverse.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import type * as BenchBaseline from "../bench/benchBaseline";
import type * as HangupTask from "./hangupTask";
import type * as OperatorUsage from "./operatorUsage";
import type * as RealtimeCall from "./realtimeCall";
import type * as RealtimeToken from "./realtimeToken";

if (getApps().length === 0) initializeApp();

const target = process.env.FUNCTION_TARGET;
/** Whether this instance serves `name` (or is being discovered, and so serves every name). */
function serves(...names: string[]): boolean {
  return target === undefined || target === "" || names.some((name) => target === name);
}

/* eslint-disable @typescript-eslint/no-require-imports */
if (serves("realtimeToken")) {
  exports.realtimeToken = (require("./realtimeToken") as typeof RealtimeToken).realtimeToken;
}
if (serves("realtimeCall", "endRealtimeCall")) {
  const calls = require("./realtimeCall") as typeof RealtimeCall;
  exports.realtimeCall = calls.realtimeCall;
  exports.endRealtimeCall = calls.endRealtimeCall;
}
if (serves("operatorUsage")) {
  exports.operatorUsage = (require("./operatorUsage") as typeof OperatorUsage).operatorUsage;
}
if (serves("hangUpRealtimeCall")) {
  exports.hangUpRealtimeCall = (require("./hangupTask") as typeof HangupTask).hangUpRealtimeCall;
}

// The benchmark's baseline: emulator only, never part of a deploy.
if (
  process.env.FUNCTIONS_EMULATOR === "true" &&
  process.env.BENCH_BASELINE === "true" &&
  (target === undefined || target === "" || target.startsWith("bench"))
) {
  const bench = require("./benchBaseline") as typeof BenchBaseline;
  exports.benchBareMint = bench.benchBareMint;
  exports.benchWarmup = bench.benchWarmup;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Preloaded (NODE_OPTIONS=--require) by the local stack under `--tasks-faults`: in a Functions
 * emulator worker it points the Admin SDK's Cloud Tasks client at the fault proxy
 * (STACK_TASKS_VIA) instead of the Cloud Tasks emulator. The Functions emulator sets
 * CLOUD_TASKS_EMULATOR_HOST in each worker's environment itself, over anything inherited, so the
 * worker has to change it from inside. Every other process (the CLI, the emulators, the tests)
 * is left as it is.
 */
"use strict";
const via = process.env.STACK_TASKS_VIA;
if (via && process.env.FUNCTIONS_EMULATOR === "true" && process.env.CLOUD_TASKS_EMULATOR_HOST) {
  process.env.CLOUD_TASKS_EMULATOR_HOST = via;
}

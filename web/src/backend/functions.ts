/**
 * The part of the backend boundary that loads the Firebase Functions SDK: the callables and
 * the Functions instance they use. Only the call modes import it, so the SDK (which registers
 * its component as it loads, and so is never tree-shaken) arrives with the mode's chunk
 * instead of before first paint (the bundle test checks); everything else comes through
 * `index.ts`.
 */
import type { FirebaseApp } from "firebase/app";
import { connectFunctionsEmulator, getFunctions, type Functions } from "firebase/functions";
import type { AppConfig } from "../config";

export { callableBrokeredCalls, callableOperatorUsage, callableTokenFetcher } from "./callable";
export type { BrokeredCallables } from "./callable";

// Whichever mode loads asks for the instance; each app is connected once, and a later caller
// gets the instance its callables already use.
const connected = new WeakMap<FirebaseApp, Functions>();

/**
 * The Functions instance of `app` in the configured region, pointed at the emulator when
 * there is one: the only place that connects Functions. The SDK finds Auth and App Check
 * through the app's components, so its callables carry both tokens. The first `config` given
 * for an app decides; the page has one.
 */
export function connectFunctions(
  app: FirebaseApp,
  config: Pick<AppConfig, "functionsRegion" | "emulators">,
): Functions {
  const known = connected.get(app);
  if (known) return known;
  const functions = getFunctions(app, config.functionsRegion);
  if (config.emulators) {
    const { host, functionsPort } = config.emulators;
    connectFunctionsEmulator(functions, host, functionsPort);
  }
  connected.set(app, functions);
  return functions;
}

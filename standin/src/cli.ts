/**
 * `tsx standin/src/cli.ts [--port 8790] [--host 127.0.0.1] [--response-audio-ms N]
 *   [--max-call-seconds N] [--idle-call-seconds N]`
 *
 * Prints one JSON line to stdout once listening (scripts wait for it); logs go to stderr.
 */
import { parseArgs } from "node:util";
import { startStandin, type StandinOptions } from "./server.js";

function fail(message: string): never {
  process.stderr.write(`standin: ${message}\n`);
  process.exit(2);
}

function integerOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) fail(`--${name} must be an integer >= ${min}`);
  return number;
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "response-audio-ms": { type: "string" },
      "max-call-seconds": { type: "string" },
      "idle-call-seconds": { type: "string" },
    },
    strict: true,
  }).values;
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

const options: StandinOptions = {
  host: parsed.host ?? "127.0.0.1",
  port: integerOption(parsed.port, "port", 0) ?? 8790,
  responseAudioMs: integerOption(parsed["response-audio-ms"], "response-audio-ms", 20),
  maxCallSeconds: integerOption(parsed["max-call-seconds"], "max-call-seconds", 1),
  idleCallSeconds: integerOption(parsed["idle-call-seconds"], "idle-call-seconds", 1),
  log: (line) => process.stderr.write(`standin: ${line}\n`),
};

const standin = await startStandin(options).catch((error: unknown) =>
  fail(`cannot listen: ${error instanceof Error ? error.message : String(error)}`),
);
process.stdout.write(
  `${JSON.stringify({ standin: "listening", url: standin.url, baseUrl: standin.baseUrl })}\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  standin.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

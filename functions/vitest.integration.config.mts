import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Runs inside `tsx scripts/stack.ts exec --project demo-realtime-test`, against the Auth and
// Functions emulators, the Firestore stand-in (or emulator) and the OpenAI stand-in.
export default defineConfig({
  test: {
    name: "functions-integration",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["test-integration/**/*.int.test.ts"],
    environment: "node",
    // One emulator, shared state: files run one after another.
    fileParallelism: false,
    // A cold emulator worker takes 5-11 s to start on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

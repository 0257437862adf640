import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Runs inside `tsx scripts/browser-stack.ts` (npm run test:e2e): the web app built and served
// by the Hosting emulator, the Functions and Auth emulators, Firestore, the OpenAI stand-in.
export default defineConfig({
  test: {
    name: "e2e",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.e2e.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 90_000,
  },
});

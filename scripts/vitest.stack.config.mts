import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:stack`: starts `npm start` itself, on the stack's fixed ports, inside a
// network namespace of its own (scripts/in-netns.ts).
export default defineConfig({
  test: {
    name: "stack",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["test/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 400_000,
    hookTimeout: 60_000,
  },
});

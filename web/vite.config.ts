import { fileURLToPath } from "node:url";
import { defineConfig, loadEnv, type Plugin } from "vite";
import { parseConfig } from "./src/config.ts";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * Validates the `VITE_*` variables with the app's own parser before serving or building,
 * so a production build without its configuration fails here, naming what is missing,
 * rather than deploying a page that cannot start.
 */
function validateEnv(): Plugin {
  return {
    name: "validate-env",
    configResolved(resolved) {
      const env = loadEnv(resolved.mode, resolved.envDir || root, resolved.envPrefix);
      try {
        parseConfig(env);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\n(Vite mode "${resolved.mode}")`);
      }
    },
  };
}

export default defineConfig({
  root,
  plugins: [validateEnv()],
  // Only VITE_* variables reach the bundle; never widen this (server secrets live in functions/).
  envPrefix: "VITE_",
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  preview: { host: "127.0.0.1", port: 4173, strictPort: true },
  build: { target: "es2022", sourcemap: false },
});

import { fileURLToPath } from "node:url";
import { defineConfig, loadEnv, type Plugin } from "vite";
import { parseConfig } from "./src/config.ts";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * Reads and validates the `VITE_*` variables with the app's own parser before serving or
 * building, so a production build without its configuration fails here, naming what is
 * missing, rather than deploying a page that cannot start. The page gets the parsed result
 * (`__APP_CONFIG__`): the parser and its messages stay out of the bundle, and so does any
 * `VITE_*` variable the app does not read.
 */
function appConfig(): Plugin {
  return {
    name: "app-config",
    config(config, { mode }) {
      const env = loadEnv(mode, config.envDir || root, "VITE_");
      try {
        return { define: { __APP_CONFIG__: JSON.stringify(parseConfig(env)) } };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\n(Vite mode "${mode}")`);
      }
    },
  };
}

export default defineConfig({
  root,
  plugins: [appConfig()],
  // Only VITE_* variables reach the bundle; never widen this (server secrets live in functions/).
  envPrefix: "VITE_",
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  preview: { host: "127.0.0.1", port: 4173, strictPort: true },
  // The manifest (dist/.vite/, which Hosting does not deploy) tells bench:bundle which chunks
  // load initially. This builds the voice page; vite.operator.config.ts builds the operator page.
  build: { target: "es2022", sourcemap: false, manifest: true },
});

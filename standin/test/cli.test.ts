import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { REAL_TIME } from "./helpers/timeouts.js";

const CLI = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      if (stdout.includes("\n")) resolve(stdout.slice(0, stdout.indexOf("\n")));
    });
    void exited.then(() => reject(new Error(`exited early: ${stderr}`)));
  });
  // Tests that expect an early exit never await the first line.
  firstLine.catch(() => {});
  return { child, exited, firstLine, output: () => ({ stdout, stderr }) };
}

describe("cli", REAL_TIME, () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "prints one JSON line when listening and stops cleanly on %s",
    async (signal) => {
      const cli = run(["--port", "0", "--response-audio-ms", "500"]);
      const line = JSON.parse(await cli.firstLine) as Record<string, string>;
      expect(Object.keys(line)).toEqual(["standin", "url", "baseUrl"]);
      expect(line.standin).toBe("listening");
      expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(line.baseUrl).toBe(`${line.url}/v1`);
      const state = await fetch(`${line.url}/_standin/state`);
      expect(state.status).toBe(200);

      cli.child.kill(signal);
      const [code] = await cli.exited;
      expect(code).toBe(0);
      const { stdout, stderr } = cli.output();
      expect(stdout.trim().split("\n")).toHaveLength(1);
      expect(stderr).toContain("standin: listening on");
    },
  );

  it("rejects bad options with exit code 2", async () => {
    const cli = run(["--response-audio-ms", "soon"]);
    const [code] = await cli.exited;
    expect(code).toBe(2);
    expect(cli.output().stderr).toContain("--response-audio-ms must be an integer");
    expect(cli.output().stdout).toBe("");
  });
});

import { describe, expect, it } from "vitest";
import { LiveLoader, type LiveModule } from "../../src/app/liveLoader";

describe("LiveLoader", () => {
  it("imports once, and tries again after a failed import, reporting each failure", async () => {
    const module = {} as LiveModule;
    let imports = 0;
    let failures = 0;
    const loader = new LiveLoader(
      () => failures++,
      async () => {
        imports++;
        if (imports === 1) throw new Error("chunk failed to load");
        return module;
      },
    );
    expect(await loader.load()).toBeNull();
    expect(failures).toBe(1);
    expect(loader.loaded).toBeNull();
    const [a, b] = await Promise.all([loader.load(), loader.load()]);
    expect(a).toBe(module);
    expect(b).toBe(module);
    expect(loader.loaded).toBe(module);
    expect(imports).toBe(2);
    expect(await loader.load()).toBe(module);
    expect(imports).toBe(2);
  });
});

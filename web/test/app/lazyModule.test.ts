import { describe, expect, it } from "vitest";
import { LazyModule } from "../../src/app/lazyModule";

describe("LazyModule", () => {
  it("imports once, and tries again after a failed import, reporting each failure", async () => {
    const module = { name: "mode" };
    let imports = 0;
    let failures = 0;
    const loader = new LazyModule(
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

  it("uses the module at once when it is loaded, else once it is, never after a failure", async () => {
    const module = { name: "mode" };
    let fail = true;
    const loader = new LazyModule(
      () => {},
      async () => {
        if (fail) throw new Error("chunk failed to load");
        return module;
      },
    );
    const used: string[] = [];
    loader.use((m) => used.push(`failed ${m.name}`));
    await loader.load();
    expect(used).toEqual([]);
    fail = false;
    loader.use((m) => used.push(`later ${m.name}`));
    expect(used).toEqual([]);
    await loader.load();
    expect(used).toEqual(["later mode"]);
    loader.use((m) => used.push(`now ${m.name}`));
    expect(used).toEqual(["later mode", "now mode"]);
  });
});

import { describe, expect, it } from "vitest";
import { Deadline, docId, seqId, StoreUnavailableError } from "../src/firestoreOps";

describe("docId", () => {
  it("keeps ordinary Firebase uids as they are", () => {
    expect(docId("J9y4hUTrbfm3js3ivYOwfHjrAn8w")).toBe("J9y4hUTrbfm3js3ivYOwfHjrAn8w");
    expect(docId("user-1")).toBe("user-1");
  });

  it.each([
    ["victim/mints/000000000001"],
    ["."],
    [".."],
    ["__name__"],
    ["a%2Fb"],
    ["ünïcødé 😀"],
    [""],
  ])("turns %j into one valid id that names no other path", (raw) => {
    const id = docId(raw);
    expect(id).not.toContain("/");
    expect(id).not.toMatch(/^\.\.?$/);
    expect(id).not.toMatch(/^__.*__$/);
    expect(id.length).toBeGreaterThan(0);
  });

  it("gives different strings different ids", () => {
    const raws = ["a/b", "a%2Fb", "a_b", "a%5Fb", "", "%", ".", "%2E", "😀", "\uD83D", "\uFFFD"];
    expect(new Set(raws.map(docId)).size).toBe(raws.length);
  });

  it("hashes an id Firestore would find too long", () => {
    const id = docId("😀".repeat(200));
    expect(id).toMatch(/^~[0-9a-f]{64}$/);
    expect(docId("😀".repeat(200))).toBe(id);
    expect(docId("😀".repeat(201))).not.toBe(id);
  });
});

describe("seqId", () => {
  it("sorts in sequence order", () => {
    expect([seqId(10), seqId(9), seqId(100)].sort()).toEqual([seqId(9), seqId(10), seqId(100)]);
  });
});

describe("Deadline", () => {
  it("passes a result through in time", async () => {
    await expect(new Deadline(1_000, "x").run(Promise.resolve(7))).resolves.toBe(7);
  });

  it("fails an operation that outlives it, naming what and how long", async () => {
    const deadline = new Deadline(50, "the reservation");
    const started = Date.now();
    const never = new Promise<never>(() => {});
    await expect(deadline.run(never)).rejects.toThrow(
      new StoreUnavailableError("Firestore did not answer the reservation within 50 ms"),
    );
    expect(Date.now() - started).toBeLessThan(500);
    // Every later operation of the same call fails at once.
    await expect(deadline.run(Promise.resolve(1))).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

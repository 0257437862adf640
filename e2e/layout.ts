/**
 * The page's layout as a person sees it, measured in Chromium: what sticks out of its box, what
 * makes the page scroll sideways, what a panel covers, and whether the countdown's text shows
 * whole. For e2e/layout.e2e.test.ts.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";

/** The window widths checked: a phone, a tablet, two desktop windows; each with its height. */
export const VIEWPORTS = [
  { width: 360, height: 740 },
  { width: 768, height: 1024 },
  { width: 1280, height: 800 },
  { width: 1600, height: 900 },
] as const;

/** Where the screenshots go (gitignored): `<mode>-<width>-<state>.png`. */
export const LAYOUT_ARTIFACTS = join(import.meta.dirname, "artifacts", "layout");

/** Empties {@link LAYOUT_ARTIFACTS}, so that every file in it is from this run. */
export function freshArtifacts(): void {
  rmSync(LAYOUT_ARTIFACTS, { recursive: true, force: true });
  mkdirSync(LAYOUT_ARTIFACTS, { recursive: true });
}

/**
 * What is wrong with the page's layout now, one sentence each (none: `[]`):
 * - the page is wider than the window (it scrolls sideways);
 * - a box (the top bar, the banner, a panel) sticks out of the window, or two panels overlap;
 * - a shown element sticks out of its box's content area (padding aside), unless it sits in a
 *   scrolling area of the box (the transcript, the timings);
 * - an element that clips its content (`overflow` not `visible`) is cutting it;
 * - the countdown (`#call-clock`), when shown, is covered anywhere along its text.
 */
export function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const root = document.documentElement;
    const px = (n: number) => Math.round(n);
    const name = (el: Element) => {
      if (el.id) return `#${el.id}`;
      const classes = typeof el.className === "string" ? el.className.trim().split(/\s+/) : [];
      return [el.tagName.toLowerCase(), ...classes.filter(Boolean)].join(".");
    };
    const shown = (el: Element) => {
      if (el.closest(".visually-hidden")) return false;
      const rect = el.getBoundingClientRect();
      return el.getClientRects().length > 0 && rect.width > 0 && rect.height > 0;
    };
    const clips = (el: Element) => getComputedStyle(el).overflowX !== "visible";

    if (root.scrollWidth > root.clientWidth) {
      problems.push(
        `the page scrolls sideways: ${root.scrollWidth} px wide in a ${root.clientWidth} px window`,
      );
    }

    const boxes = Array.from(document.querySelectorAll(".topbar, .banner, .panel")).filter(shown);
    for (const box of boxes) {
      const outer = box.getBoundingClientRect();
      if (outer.left < -0.5 || outer.right > root.clientWidth + 0.5) {
        problems.push(
          `${name(box)} (${px(outer.left)}–${px(outer.right)} px) sticks out of the window`,
        );
      }
      const style = getComputedStyle(box);
      const left = outer.left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft);
      const right =
        outer.right - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight);
      for (const el of Array.from(box.querySelectorAll("*"))) {
        if (el.tagName === "OPTION" || !shown(el)) continue;
        // Inside a scrolling area of the box, the area itself is what must fit.
        let inScroller = false;
        for (let up = el.parentElement; up && up !== box; up = up.parentElement) {
          if (clips(up)) inScroller = true;
        }
        if (inScroller) continue;
        const rect = el.getBoundingClientRect();
        if (rect.left < left - 1 || rect.right > right + 1) {
          problems.push(
            `${name(el)} (${px(rect.left)}–${px(rect.right)} px) sticks out of ${name(box)} (content ${px(left)}–${px(right)} px)`,
          );
        }
        if (clips(el) && el.scrollWidth > el.clientWidth + 1 && el.tagName !== "SELECT") {
          problems.push(
            `${name(el)} cuts its content: ${el.scrollWidth} px in ${el.clientWidth} px`,
          );
        }
      }
    }

    const panels = boxes.filter((box) => box.classList.contains("panel"));
    for (let i = 0; i < panels.length; i++) {
      for (let j = i + 1; j < panels.length; j++) {
        const a = panels[i]!.getBoundingClientRect();
        const b = panels[j]!.getBoundingClientRect();
        const overlapX = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const overlapY = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (overlapX > 1 && overlapY > 1) {
          problems.push(`${name(panels[i]!)} and ${name(panels[j]!)} overlap`);
        }
      }
    }

    const clock = document.getElementById("call-clock");
    if (clock && shown(clock)) {
      const rect = clock.getBoundingClientRect();
      if (clock.scrollWidth > clock.clientWidth + 1) {
        problems.push(`#call-clock cuts "${clock.textContent}"`);
      }
      const y = rect.top + rect.height / 2;
      for (const x of [rect.left + 2, rect.left + rect.width / 2, rect.right - 2]) {
        const top = document.elementFromPoint(x, y);
        if (top === null || !clock.contains(top)) {
          problems.push(
            `#call-clock "${clock.textContent}" is covered at x=${px(x)} by ${top ? name(top) : "nothing (outside the window)"}`,
          );
        }
      }
    }
    return problems;
  });
}

/**
 * The page at each of {@link VIEWPORTS}: its {@link layoutProblems}, each prefixed with where it
 * was seen; writes a full-page screenshot `<mode>-<width>-<state>.png` of each into `dir`
 * ({@link LAYOUT_ARTIFACTS} unless another suite keeps its own).
 */
export async function problemsAtEveryWidth(
  page: Page,
  mode: string,
  state: string,
  dir: string = LAYOUT_ARTIFACTS,
): Promise<string[]> {
  const found: string[] = [];
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    // Two frames: what follows a resize in script (a ResizeObserver's redraw) has run.
    await page.evaluate(
      () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
    );
    for (const problem of await layoutProblems(page)) {
      found.push(`${mode} ${viewport.width} px, ${state}: ${problem}`);
    }
    await page.screenshot({
      path: join(dir, `${mode}-${viewport.width}-${state}.png`),
      fullPage: true,
      animations: "disabled",
    });
  }
  return found;
}

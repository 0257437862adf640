/**
 * The colour of the plan at `index` in the legend's order (heaviest first), shared by the
 * chart's bars and the legend's swatches. Mid-tone, so they read on the light and dark pages.
 */
export function planColor(index: number): string {
  return PALETTE[index % PALETTE.length] ?? "#6366f1";
}

const PALETTE = ["#6366f1", "#14b8a6", "#f59e0b", "#ec4899", "#0ea5e9", "#84cc16", "#a855f7"];

import type * as Live from "./live";
import { LazyModule } from "./lazyModule";

/** The lazily loaded session code (`live.ts`). */
export type LiveModule = typeof Live;

/** Loads the session code once; a failed import is tried again by the next caller. */
export class LiveLoader extends LazyModule<LiveModule> {
  /** `onFailure` runs each time the import fails (the page says so and offers a reload). */
  constructor(
    onFailure: () => void,
    importLive: () => Promise<LiveModule> = () => import("./live"),
  ) {
    super(onFailure, importLive);
  }
}

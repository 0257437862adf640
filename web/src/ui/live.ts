/*
 * The part of the app loaded after first paint: the realtime session and what only a running
 * session needs. `app.ts` starts importing it as soon as the page has loaded, so Connect does
 * not wait for it.
 */
export { RealtimeSession } from "../realtime";
export { CostView } from "./costView";
export { TalkButton } from "./talkButton";

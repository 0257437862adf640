/*
 * The part of the app loaded after first paint: the realtime session and what only a running
 * session needs. `app.ts` starts importing it as soon as the page has loaded, so Connect does
 * not wait for it.
 */
export { CallPreparer, classifyDrop, RealtimeSession, Reconnector } from "../realtime";
export { tokenDropClass } from "../backend";
export { CostView } from "./costView";
export { BrokeredCalls } from "./brokeredCalls";
export { TalkButton } from "./talkButton";

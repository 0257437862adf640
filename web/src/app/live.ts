/*
 * The part of the app loaded after first paint: the realtime session and what only a running
 * session needs. The page starts importing it as soon as it has loaded (LiveLoader), so
 * Connect does not wait for it.
 */
export { CallPreparer, classifyDrop, RealtimeSession, Reconnector } from "../realtime";
export { tokenDropClass } from "../backend";
export { CostView } from "../ui/costView";
export { TalkButton } from "../ui/talkButton";

/*
 * The part of the app loaded after first paint: the realtime session and what only a running
 * session needs. The page starts importing it as soon as it has loaded (LiveLoader), so
 * Connect does not wait for it.
 */
export { CallPreparer, classifyDrop, LiveSession, RealtimeSession, Reconnector } from "../realtime";
export { priorTurnsOf } from "./priorTurns";
export { tokenDropClass } from "../backend";
export { CostView } from "../ui/costView";
export { TalkButton } from "../ui/talkButton";

/**
 * Cloud Functions entry point. Each export is a deployed function.
 */
import { getApps, initializeApp } from "firebase-admin/app";

if (getApps().length === 0) initializeApp();

export { realtimeToken } from "./realtimeToken";

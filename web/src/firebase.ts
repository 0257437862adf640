import { initializeApp, type FirebaseApp } from "firebase/app";
import {
  CustomProvider,
  ReCaptchaEnterpriseProvider,
  initializeAppCheck,
  type AppCheck,
} from "firebase/app-check";
import {
  GoogleAuthProvider,
  browserLocalPersistence,
  browserPopupRedirectResolver,
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
  linkWithPopup,
  signInAnonymously,
  signInWithCredential,
  signInWithPopup,
  signOut,
  type Auth,
  type User,
} from "firebase/auth";
import type { AppConfig } from "./config";

/** The Firebase services the app uses. */
export interface FirebaseServices {
  app: FirebaseApp;
  auth: Auth;
  /** Null when App Check was turned off (emulators only, to test the failure path). */
  appCheck: AppCheck | null;
}

/**
 * Initializes Firebase for `config`.
 *
 * Under the emulators, App Check uses a {@link CustomProvider} that makes a placeholder
 * token locally: the debug and reCAPTCHA providers must reach Google, and the Functions
 * emulator decodes App Check tokens without verifying them. In production App Check uses
 * reCAPTCHA Enterprise, and the token callable asks for limited-use tokens (see
 * `backend/callable.ts`), which the function consumes. Functions is not set up here: the call
 * modes connect it (`backend/functions.ts`), so its SDK loads with them, after first paint.
 */
export function initFirebase(
  config: AppConfig,
  options: { appCheck?: boolean } = {},
): FirebaseServices {
  const app = initializeApp(config.firebase);

  let appCheck: AppCheck | null = null;
  if (config.emulators) {
    if (options.appCheck !== false) {
      const { appId, projectId } = config.firebase;
      appCheck = initializeAppCheck(app, {
        provider: new CustomProvider({
          getToken: async () => placeholderAppCheckToken(appId, projectId),
        }),
        isTokenAutoRefreshEnabled: false,
      });
    }
  } else if (config.recaptchaEnterpriseSiteKey) {
    appCheck = initializeAppCheck(app, {
      provider: new ReCaptchaEnterpriseProvider(config.recaptchaEnterpriseSiteKey),
      isTokenAutoRefreshEnabled: true,
    });
  }

  // initializeAuth instead of getAuth: the popup resolver is passed where it is used, so
  // anonymous-only visitors do not pay for it at startup.
  const auth = initializeAuth(app, {
    persistence: [indexedDBLocalPersistence, browserLocalPersistence],
  });
  if (config.emulators) {
    const { host, authPort } = config.emulators;
    connectAuthEmulator(auth, `http://${host}:${authPort}`, { disableWarnings: true });
  }
  return { app, auth, appCheck };
}

/**
 * An unsigned token shaped like an App Check JWT, for the Functions emulator only, which
 * decodes (and never verifies) it. Each token has its own `jti`, like real limited-use tokens.
 */
export function placeholderAppCheckToken(
  appId: string,
  projectId: string,
  nowMs = Date.now(),
): { token: string; expireTimeMillis: number } {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + 3600;
  const header = { alg: "none", typ: "JWT" };
  const payload = {
    iss: "https://firebaseappcheck.googleapis.com/000000000000",
    sub: appId,
    aud: [`projects/${projectId}`],
    iat,
    exp,
    jti: globalThis.crypto.randomUUID(),
  };
  const token = `${base64Url(JSON.stringify(header))}.${base64Url(JSON.stringify(payload))}.local-placeholder`;
  return { token, expireTimeMillis: exp * 1000 };
}

function base64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Signs in as an anonymous guest: the default, so a visitor can talk at once. */
export async function signInAsGuest(auth: Auth): Promise<User> {
  return (await signInAnonymously(auth)).user;
}

/**
 * Signs in with Google in a popup. A guest is upgraded in place (same uid, so the daily
 * quota carries over); if that Google account already has a user, that user is signed in.
 */
export async function signInWithGoogle(auth: Auth): Promise<User> {
  const provider = new GoogleAuthProvider();
  const current = auth.currentUser;
  if (current?.isAnonymous) {
    try {
      return (await linkWithPopup(current, provider, browserPopupRedirectResolver)).user;
    } catch (error) {
      const credential =
        errorCode(error) === "auth/credential-already-in-use"
          ? GoogleAuthProvider.credentialFromError(
              error as Parameters<typeof GoogleAuthProvider.credentialFromError>[0],
            )
          : null;
      if (!credential) throw error;
      return (await signInWithCredential(auth, credential)).user;
    }
  }
  return (await signInWithPopup(auth, provider, browserPopupRedirectResolver)).user;
}

/** Signs out; the app then continues as a new guest. */
export function signOutUser(auth: Auth): Promise<void> {
  return signOut(auth);
}

/** The `code` of a Firebase error (`auth/popup-blocked`, …); "" for anything else. */
export function errorCode(error: unknown): string {
  return typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : "";
}

import "./styles.css";
import { getConfig } from "./config";
import { initFirebase } from "./firebase";
import { messageOf } from "./realtime/errors";
import { callableTokenFetcher } from "./token/callable";
import { CachedTokenProvider } from "./token/provider";
import { VoiceApp } from "./ui/app";

function main(): void {
  let config;
  try {
    config = getConfig();
  } catch (error) {
    showFatal(messageOf(error));
    return;
  }
  // `?appCheck=off` exists to exercise the backend's App Check rejection locally; a
  // production build ignores it.
  const appCheck = !(
    config.emulators && new URLSearchParams(location.search).get("appCheck") === "off"
  );
  const firebase = initFirebase(config, { appCheck });
  const tokens = new CachedTokenProvider({
    fetchToken: callableTokenFetcher(firebase.functions),
    isSignedIn: () => firebase.auth.currentUser !== null,
  });
  new VoiceApp({ config, firebase, tokens }).start();
}

function showFatal(message: string): void {
  const banner = document.getElementById("banner");
  const text = document.getElementById("banner-message");
  if (!banner || !text) return;
  banner.dataset.kind = "config";
  text.textContent = message;
  banner.hidden = false;
  const state = document.getElementById("state");
  if (state) state.textContent = "Unavailable";
}

main();

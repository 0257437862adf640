import "./styles.css";
import { getConfig, queryOverrides } from "./config";
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
  // `?appCheck=off` and `?prefetch=…` exist for local tests and bench:connect; a production
  // build ignores them.
  const { appCheck, tokenPrefetch } = queryOverrides(config, location.search);
  config = { ...config, tokenPrefetch };
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

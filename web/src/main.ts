import "./styles.css";
import { getConfig } from "./config";
import { queryOverrides } from "./queryOverrides";
import { initFirebase } from "./firebase";
import { CachedTokenProvider, browserSharedSecrets, callableTokenFetcher } from "./backend";
import { VoiceApp } from "./ui/app";

function main(): void {
  // vite.config.ts validated the configuration when it built this page.
  let config = getConfig();
  // `?appCheck=off`, `?prefetch=…`, `?mode=…`, `?connect=load` and the picker presets exist for
  // local tests and bench:connect; a production build ignores them.
  const { appCheck, tokenPrefetch, connectOnLoad, mode, talk } = queryOverrides(
    config,
    location.search,
  );
  config = { ...config, tokenPrefetch, mode };
  const firebase = initFirebase(config, { appCheck });
  const tokens = new CachedTokenProvider({
    fetchToken: callableTokenFetcher(firebase.functions),
    isSignedIn: () => firebase.auth.currentUser !== null,
    // Another tab, or this page before a reload, may hold a secret the user can still use.
    shared: {
      secrets: browserSharedSecrets(),
      scope: () => firebase.auth.currentUser?.uid ?? null,
    },
    // The server's default USER_MIN_INTERVAL_SECONDS is 5: a Connect right after a rejected
    // secret waits out the rest of it instead of failing.
    waitForIntervalSeconds: 6,
  });
  new VoiceApp({ config, firebase, tokens, connectOnLoad, talk }).start();
}

main();

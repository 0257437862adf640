/*
 * The page's one composition root: reads the configuration, builds the Firebase services,
 * the call mode (secret or brokered, chosen here and nowhere else), the views and the
 * controllers, and wires them together.
 */
import "./styles.css";
import { DEFAULT_USER_MIN_INTERVAL_SECONDS } from "voice-contract";
import { AuthController } from "./app/auth";
import { BrokeredMode } from "./app/brokeredMode";
import { CallController } from "./app/callController";
import { SessionChoices } from "./app/choices";
import { LiveLoader } from "./app/liveLoader";
import type { CallMode } from "./app/mode";
import { SecretMode } from "./app/secretMode";
import { getConfig, type AppConfig } from "./config";
import { queryOverrides } from "./queryOverrides";
import { initFirebase, type FirebaseServices } from "./firebase";
import { CachedTokenProvider, browserSharedSecrets, callableTokenFetcher } from "./backend";
import { AudioView } from "./ui/audio";
import { AuthView } from "./ui/auth";
import { BannerView } from "./ui/banner";
import { CallPanel } from "./ui/callPanel";
import { DetailsView } from "./ui/details";
import { byId } from "./ui/dom";
import { APP_LOAD_FAILED } from "./ui/messages";
import { MessageForm } from "./ui/messageForm";
import { MicLevelMeter } from "./ui/meter";
import { TranscriptView } from "./ui/transcript";
import { UsageView } from "./ui/usage";
import { VoicePicker } from "./ui/voicePicker";

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

  const banner = new BannerView();
  const details = new DetailsView();
  const authView = new AuthView();
  const auth = new AuthController(firebase.auth, authView, banner);
  const choices = new SessionChoices(new VoicePicker(), talk);
  const live = new LiveLoader(() => banner.show(APP_LOAD_FAILED));
  const callMode = createMode(config, firebase, { auth, live, choices, details, banner });
  details.showBudgetOf(callMode.kind);

  const panel = new CallPanel();
  const audio = new AudioView();
  const messages = new MessageForm();
  const calls = new CallController({
    mode: callMode,
    live,
    choices,
    connectOnLoad,
    views: {
      panel,
      banner,
      audio,
      messages,
      details,
      meter: new MicLevelMeter(byId("mic-level", HTMLDivElement)),
      transcript: new TranscriptView(
        byId("transcript", HTMLOListElement),
        byId("transcript-empty", HTMLParagraphElement),
      ),
      usage: new UsageView(),
    },
  });

  panel.listen({
    connect: () => void calls.connect(),
    disconnect: () => calls.disconnect(),
    toggleMute: () => calls.toggleMute(),
    interrupt: () => calls.interrupt(),
    connectIntent: () => callMode.prefetch("intent"),
  });
  messages.listen((text) => calls.sendText(text));
  choices.onChange(() => callMode.prefetch("choice"));
  authView.listen({
    signInWithGoogle: () => void auth.signInWithGoogle(),
    signOut: () => {
      calls.disconnect();
      void auth.signOut();
    },
  });
  banner.listen((action) => {
    switch (action) {
      case "retry":
        return void calls.connect();
      case "reload":
        return location.reload();
      case "sign-in":
        return auth.signInAgain();
      case "enable-audio":
        return void audio.play();
    }
  });
  window.addEventListener("pagehide", () => calls.pageHide());

  calls.start();
  auth.start((signedIn, changed) => {
    if (changed) callMode.userChanged();
    calls.signedIn(signedIn);
  });
}

/** The call mode the configuration names: the only place that tells the two apart. */
function createMode(
  config: AppConfig,
  firebase: FirebaseServices,
  parts: {
    auth: AuthController;
    live: LiveLoader;
    choices: SessionChoices;
    details: DetailsView;
    banner: BannerView;
  },
): CallMode {
  const { auth, live, choices, details, banner } = parts;
  if (config.mode === "brokered") {
    return new BrokeredMode({
      config,
      firebase,
      live,
      choices,
      details,
      uid: () => auth.uid,
      notice: (content) => banner.show(content),
    });
  }
  const tokens = new CachedTokenProvider({
    fetchToken: callableTokenFetcher(firebase.functions),
    isSignedIn: () => firebase.auth.currentUser !== null,
    // Another tab, or this page before a reload, may hold a secret the user can still use.
    shared: {
      secrets: browserSharedSecrets(),
      scope: () => firebase.auth.currentUser?.uid ?? null,
    },
    // A Connect right after a rejected secret waits out the rest of the server's (default)
    // interval instead of failing; a longer interval set by the operator is shown as refused.
    waitForIntervalSeconds: DEFAULT_USER_MIN_INTERVAL_SECONDS,
  });
  return new SecretMode({
    tokens,
    prefetch: config.tokenPrefetch,
    callsUrl: config.openaiCallsUrl,
    signedIn: () => auth.uid !== null,
    choices,
    details,
  });
}

main();

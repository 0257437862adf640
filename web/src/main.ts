/*
 * The page's one composition root: reads the configuration, builds the Firebase services,
 * the views and the controllers, loads the call mode (secret or brokered, chosen here and
 * nowhere else), and wires them together.
 */
import "./styles.css";
import { AuthController } from "./app/auth";
import { CallController } from "./app/callController";
import { SessionChoices } from "./app/choices";
import { LazyModule } from "./app/lazyModule";
import { LiveLoader } from "./app/liveLoader";
import type { CallMode, ModeParts } from "./app/mode";
import { getConfig } from "./config";
import { queryOverrides } from "./queryOverrides";
import { initFirebase } from "./firebase";
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
  const { appCheck, tokenPrefetch, connectOnLoad, mode, api, talk } = queryOverrides(
    config,
    location.search,
  );
  config = { ...config, tokenPrefetch, mode, api };
  const firebase = initFirebase(config, { appCheck });

  const banner = new BannerView();
  const details = new DetailsView();
  const authView = new AuthView();
  const auth = new AuthController(firebase.auth, authView, banner);
  const choices = new SessionChoices(new VoicePicker(), talk);
  const loadFailed = () => banner.show(APP_LOAD_FAILED);
  const live = new LiveLoader(loadFailed);
  const parts: ModeParts = {
    config,
    firebase,
    uid: () => auth.uid,
    choices,
    details,
    notice: (content) => banner.show(content),
    withdrawNotice: (kind) => banner.withdraw(kind),
    // The controller is made below; the mode loads (and calls this) after first paint.
    blockConnect: (block) => calls.blockConnect(block),
  };
  const callMode = new LazyModule(loadFailed, () => loadMode(parts));
  details.showBudgetOf(config.mode);
  details.renderApi(config.api);

  const panel = new CallPanel();
  const audio = new AudioView();
  const messages = new MessageForm();
  // GPT-Live's page sends only mute and unmute: no Interrupt, no typed text; it bills seconds.
  panel.showControlsOf(config.api);
  messages.showFor(config.api);
  const usage = new UsageView();
  usage.showFor(config.api);
  const transcript = new TranscriptView(
    byId("transcript", HTMLOListElement),
    byId("transcript-empty", HTMLParagraphElement),
  );
  transcript.showHintFor(config.api);
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
      transcript,
      usage,
    },
  });

  panel.listen({
    connect: () => void calls.connect(),
    disconnect: () => calls.disconnect(),
    toggleMute: () => calls.toggleMute(),
    interrupt: () => calls.interrupt(),
    connectIntent: () => callMode.use((mode) => mode.prefetch("intent")),
  });
  messages.listen((text) => calls.sendText(text));
  choices.onChange(() => callMode.use((mode) => mode.prefetch("choice")));
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
    if (changed) callMode.use((mode) => mode.userChanged());
    calls.signedIn(signedIn);
  });
}

/**
 * The call mode the configuration names, the only place that tells them apart: its code (and
 * only its) is a chunk of its own, loaded after first paint (CallController.start). A GPT-Live
 * page is brokered mode with `config.api` `live`.
 */
async function loadMode(parts: ModeParts): Promise<CallMode> {
  if (parts.config.mode === "brokered") {
    const { BrokeredMode } = await import("./app/brokeredMode");
    return new BrokeredMode(parts);
  }
  const { createSecretMode } = await import("./app/secretMode");
  return createSecretMode(parts);
}

main();

/*
 * The operator page's composition root (operator.html, a Vite entry of its own, so its chart
 * library never loads with the voice page): signs a guest in when nobody is, as the voice page
 * does, and shows `operatorUsage`'s answer, or its refusal, for whoever is signed in.
 */
import "./styles.css";
import "./operator.css";
import { onAuthStateChanged, type User } from "firebase/auth";
import { OperatorPage } from "./app/operatorPage";
import { connectFunctions, callableOperatorUsage } from "./backend/functions";
import { getConfig } from "./config";
import { initFirebase, signInAsGuest } from "./firebase";
import { byId } from "./ui/dom";
import { OperatorView } from "./ui/operatorView";
import { UsageChart } from "./ui/usageChart";

function main(): void {
  const config = getConfig();
  const firebase = initFirebase(config);
  const fetchUsage = callableOperatorUsage(connectFunctions(firebase.app, config));
  const chip = byId("auth-status", HTMLSpanElement);

  const view = new OperatorView(new UsageChart(byId("usage-chart", HTMLDivElement)));
  let user: User | null = null;
  const page = new OperatorPage({
    // Forced: a claim granted since the cached token was issued is only in a new one.
    refreshToken: () => (user ? user.getIdToken(true) : Promise.resolve()),
    fetchUsage,
    render: (state) => view.render(state),
  });
  view.listen(() => void page.refresh());

  onAuthStateChanged(firebase.auth, (next) => {
    const changed = next?.uid !== user?.uid;
    user = next;
    if (!next) {
      chip.dataset.auth = "pending";
      chip.textContent = "Signing in…";
      page.signedOut();
      signInAsGuest(firebase.auth).catch(() => {
        chip.dataset.auth = "error";
        chip.textContent = "Not signed in";
        page.signInFailed();
      });
      return;
    }
    chip.dataset.auth = next.isAnonymous ? "anonymous" : "google";
    chip.textContent = next.isAnonymous ? "Guest" : (next.email ?? next.displayName ?? "Signed in");
    if (changed) void page.signedIn();
  });
}

main();

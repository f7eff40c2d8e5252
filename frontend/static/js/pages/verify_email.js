import { post } from "../api.js";
import { boot, h, fill, param, errorMessage } from "../ui.js";
import { t } from "../i18n.js";
import { AUTH, afterEmailVerified, showStep, wireEmailStep, wireMobileStep } from "../auth.js";

await boot("public");
wireEmailStep(null);
wireMobileStep();

const token = param("token");
if (!token) {
  showStep("email");
} else {
  // The token is in the address bar: take it out so it is not bookmarked or shared.
  history.replaceState(null, "", location.pathname);
  fill("verify-status", h("p", { class: "text-body-secondary", role: "status", text: t("Confirming your email address…") }));
  try {
    const state = await post(AUTH.verifyEmail, { token });
    fill("verify-status", h("div", { class: "alert alert-success", text: t("Your email address is confirmed.") }));
    afterEmailVerified(state);
  } catch (error) {
    fill("verify-status", h("div", { class: "alert alert-danger", role: "alert", text: errorMessage(error) }));
    showStep("email");
  }
}

import { post } from "../api.js";
import { boot, h, fill, link, param, errorMessage } from "../ui.js";
import { AUTH, completeSignIn, wireMfaStep } from "../auth.js";
import { t } from "../i18n.js";

await boot("public");
wireMfaStep();

const token = param("token");
history.replaceState(null, "", location.pathname);  // keep the single-use token out of history
if (!token) {
  fill("link-status", h("div", { class: "alert alert-warning", role: "alert", text: t("This sign-in link is incomplete.") }),
    link("login.html", t("Ask for a new link"), "btn btn-primary"));
} else {
  try {
    await completeSignIn(await post(AUTH.exchangeLink, { token }));
  } catch (error) {
    fill("link-status", h("div", { class: "alert alert-danger", role: "alert", text: errorMessage(error) }),
      link("login.html", t("Ask for a new link"), "btn btn-primary"));
  }
}

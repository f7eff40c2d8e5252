import { siteUrl } from "../api.js";
import { boot, homeFor, h } from "../ui.js";

const me = await boot("public");
if (me) {
  document.getElementById("home-actions").replaceChildren(
    h("a", { class: "btn btn-warning btn-lg", href: siteUrl(homeFor(me)), text: "Go to your account" }));
}

import { post } from "../api.js";
import { boot, onSubmit } from "../ui.js";
import { AUTH, showStep, wireEmailStep, wireMobileStep } from "../auth.js";
import { LANG } from "../i18n.js";

await boot("public");

// People type "98765 43210"; the API wants +91 followed by ten digits.
function withCountryCode(mobile) {
  const digits = mobile.replace(/[\s-]/g, "");
  return /^[6-9]\d{9}$/.test(digits) ? `+91${digits}` : mobile;
}

onSubmit(document.getElementById("signup-form"), async (values) => {
  // The page's language is the account's: its confirmation email is written in it.
  const body = { ...values, mobile: withCountryCode(values.mobile || ""), language: LANG };
  await post(AUTH.signup, body);
  wireEmailStep(values.email);
  showStep("email");
});
wireMobileStep();

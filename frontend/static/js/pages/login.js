import { post } from "../api.js";
import { boot, onSubmit, notify, param } from "../ui.js";
import { AUTH, completeSignIn, wireMfaStep } from "../auth.js";

await boot("public");
if (param("signed_out")) notify("You are signed out.", "info");

onSubmit(document.getElementById("link-form"), async (values) => {
  await post(AUTH.loginLink, { email: values.email });
  document.getElementById("link-sent").hidden = false;
});
onSubmit(document.getElementById("password-form"), async (values) => {
  await completeSignIn(await post(AUTH.loginPassword, { email: values.email, password: values.password }));
});
wireMfaStep();

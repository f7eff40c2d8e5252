// Sign-up verification and sign-in steps shared by several pages.

import { post, session, safeNext } from "./api.js";
import { $, h, onSubmit, action, notify, homeFor, loadMe } from "./ui.js";
import { t } from "./i18n.js";

// The account routes, in one place.
export const AUTH = {
  signup: "/auth/signup",
  resendEmail: "/auth/signup/resend",
  verifyEmail: "/auth/verify-email",
  verifyMobile: "/auth/verify-mobile",
  resendSms: "/auth/sms/resend",
  loginLink: "/auth/login/email-link",
  exchangeLink: "/auth/login/link",
  loginPassword: "/auth/login/password",
  loginMfa: "/auth/login/mfa",
};

// ------------------------------------------------------------- sign-up steps

const STEP_ORDER = ["details", "email", "mobile", "review"];

export function showStep(step) {
  for (const name of STEP_ORDER) {
    const section = document.getElementById(`step-${name}`);
    if (section) section.hidden = name !== step;
    const marker = document.querySelector(`#signup-steps [data-step="${name}"]`);
    if (marker) {
      const done = STEP_ORDER.indexOf(name) < STEP_ORDER.indexOf(step);
      marker.classList.toggle("done", done);
      if (name === step) marker.setAttribute("aria-current", "step");
      else marker.removeAttribute("aria-current");
    }
  }
  const title = document.getElementById(`step-${step}-title`);
  if (title) title.focus();
}

function slot(name, text) {
  for (const element of document.querySelectorAll(`[data-slot="${name}"]`)) element.textContent = text;
}

/** Move on after the email is confirmed: to the SMS code, or past it. */
export function afterEmailVerified(state) {
  if (state.sms) {
    showMobileStep(state.sms);
  } else {
    showDone(state.status);
  }
}

export function showMobileStep(sms) {
  const form = document.getElementById("mobile-form");
  form.elements.challenge.value = sms.challenge;
  slot("mobile-hint", sms.mobile_hint || t("your mobile"));
  showStep("mobile");
}

export function showDone(status) {
  if (status === "verified") slot("review-text", t("Your account is ready. You can sign in now."));
  showStep("review");
}

export function wireEmailStep(email) {
  if (email) {
    slot("email", email);
    document.getElementById("resend-form").elements.email.value = email;
  } else {
    document.getElementById("resend-form").hidden = true;
  }
  onSubmit(document.getElementById("email-form"), async (values) => {
    afterEmailVerified(await post(AUTH.verifyEmail, { token: values.token }));
  });
  onSubmit(document.getElementById("resend-form"), async (values) => {
    await post(AUTH.resendEmail, { email: values.email });
    notify(t("We sent the email again. It can take a minute to arrive."));
  });
}

export function wireMobileStep() {
  const form = document.getElementById("mobile-form");
  onSubmit(form, async (values) => {
    const state = await post(AUTH.verifyMobile, { challenge: values.challenge, code: values.code });
    showDone(state.status);
  });
  action(form.querySelector("[data-action=resend-sms]"), async () => {
    const sms = await post(AUTH.resendSms, { challenge: form.elements.challenge.value });
    form.elements.challenge.value = sms.challenge;
    form.elements.code.value = "";
    notify(t("A new code is on its way to {mobile}.", { mobile: sms.mobile_hint || t("your mobile") }));
  });
}

// ------------------------------------------------------------- sign-in

/** What to do with a login answer: a session, or the MFA code step. */
export async function completeSignIn(outcome) {
  if (outcome.status === "mfa_required" && outcome.mfa) {
    showMfa(outcome.mfa);
    return;
  }
  session.start(outcome.token, outcome.profile || null);
  const me = outcome.profile || (await loadMe());
  const next = new URLSearchParams(location.search).get("next");
  location.assign(safeNext(next, homeFor(me)));
}

export function showMfa(mfa) {
  const step = document.getElementById("mfa-step");
  const methods = $("#signin-methods");
  if (methods) methods.hidden = true;
  const status = $("#link-status");
  if (status) status.replaceChildren(h("p", { text: t("Your link is confirmed. One more step.") }));
  step.hidden = false;
  step.querySelector("form").elements.challenge.value = mfa.challenge;
  slot("mfa-hint", mfa.mobile_hint || t("your mobile"));
  document.getElementById("mfa-title").focus();
}

export function wireMfaStep() {
  onSubmit(document.getElementById("mfa-form"), async (values) => {
    await completeSignIn(await post(AUTH.loginMfa, { challenge: values.challenge, code: values.code }));
  });
}

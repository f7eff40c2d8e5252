import { get, patch, post, put, session, siteUrl } from "../api.js";
import { boot, h, fill, facts, badge, errorState, onSubmit, action, notify } from "../ui.js";
import { dateIST, label } from "../format.js";
import { LANG, t } from "../i18n.js";

let me = await boot("user");

function withCountryCode(mobile) {
  const digits = mobile.replace(/[\s-]/g, "");
  return /^[6-9]\d{9}$/.test(digits) ? `+91${digits}` : mobile;
}

function render(profile) {
  me = profile;
  session.remember(profile);
  for (const slot of document.querySelectorAll("[data-me=name]")) slot.textContent = profile.name;
  fill("profile-summary", h("section", { class: "card" }, h("div", { class: "card-body" },
    facts([
      [t("Name"), profile.name],
      [t("Email"), profile.email],
      [t("Mobile"), profile.mobile],
      [t("Account"), h("span", {}, label(profile.role), " ", badge(profile.status))],
      profile.status_reason ? [t("Note from the office"), profile.status_reason] : null,
      [t("Member since"), dateIST(profile.created_at)],
    ]))));
  const nameForm = document.getElementById("name-form");
  nameForm.elements.name.value = profile.name;
  document.getElementById("language-form").elements.language.value = profile.language || LANG;
  const notices = document.getElementById("notices-form").elements;
  notices.email.checked = profile.notify_email !== false;
  notices.sms.checked = Boolean(profile.notify_sms);
  const mfaState = document.getElementById("mfa-state");
  const toggle = document.getElementById("mfa-toggle");
  if (profile.role === "admin") {
    mfaState.textContent = t("Always on for administrators: every sign-in asks for a code sent to your mobile.");
    document.getElementById("mfa-change-form").hidden = true;
  } else {
    mfaState.textContent = profile.mfa_enabled
      ? t("On: every sign-in also asks for a code sent to your mobile.")
      : t("Off: a password or an email link is enough to sign in.");
    toggle.querySelector("[data-label]").textContent = profile.mfa_enabled ? t("Turn off") : t("Turn on");
  }
  const current = document.getElementById("password-change-current_password").closest(".mb-3");
  current.hidden = !profile.has_password;
}

// Email and/or SMS for bill-ready and payment messages (at least one).
onSubmit(document.getElementById("notices-form"), async (values) => {
  render(await put("/me/notices", { email: values.email, sms: values.sms }));
  notify(t("Your message choice is saved."));
});

onSubmit(document.getElementById("name-form"), async (values) => {
  render(await patch("/me", { name: values.name }));
  notify(t("Your name is saved."));
});

// The language of the portal, emails and SMS: saved, then this page in it.
onSubmit(document.getElementById("language-form"), async (values) => {
  render(await put("/me/language", { language: values.language }));
  const there = document.querySelector(`.lang-switch a[data-lang="${CSS.escape(values.language)}"]`);
  if (there && values.language !== LANG) location.assign(there.getAttribute("href"));
});

const mobileConfirm = document.getElementById("mobile-confirm-form");
onSubmit(document.getElementById("mobile-change-form"), async (values) => {
  const sms = await post("/me/mobile", { mobile: withCountryCode(values.mobile) });
  mobileConfirm.elements.challenge.value = sms.challenge;
  mobileConfirm.hidden = false;
  mobileConfirm.elements.code.focus();
  notify(t("We sent a code to {mobile}.", { mobile: sms.mobile_hint }), "info");
});
onSubmit(mobileConfirm, async (values) => {
  render(await post("/me/mobile/confirm", { challenge: values.challenge, code: values.code }));
  mobileConfirm.hidden = true;
  mobileConfirm.reset();
  document.getElementById("mobile-change-form").reset();
  notify(t("Your mobile number is changed."));
});

onSubmit(document.getElementById("password-change-form"), async (values, form) => {
  render(await put("/me/password", values));
  form.reset();
  notify(t("Your password is set."));
});

const mfaConfirm = document.getElementById("mfa-confirm-form");
onSubmit(document.getElementById("mfa-change-form"), async () => {
  const sms = await post("/me/mfa", { enabled: !me.mfa_enabled });
  mfaConfirm.elements.challenge.value = sms.challenge;
  mfaConfirm.hidden = false;
  mfaConfirm.elements.code.focus();
  notify(t("Enter the code we sent to {mobile} to confirm.", { mobile: sms.mobile_hint }), "info");
});
onSubmit(mfaConfirm, async (values) => {
  render(await post("/me/mfa/confirm", { challenge: values.challenge, code: values.code }));
  mfaConfirm.hidden = true;
  mfaConfirm.reset();
  notify(me.mfa_enabled ? t("Two-step sign-in is on.") : t("Two-step sign-in is off."));
});

action(document.getElementById("logout-all"), async () => {
  await post("/auth/logout-all");
  session.clear();
  location.assign(siteUrl("login.html?signed_out=1"));
});

try {
  render(await get("/me"));
} catch (error) {
  fill("profile-summary", errorState(error));
}

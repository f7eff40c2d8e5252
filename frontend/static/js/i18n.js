// The page's language: its messages come from the same gettext catalogues as
// the templates (functions/core/locale), written into the page at build time
// (<script type="application/json" id="i18n-data">). English is the msgid.
//
//   t("Amount due")                          -> "देय राशि" on a Hindi page
//   t("{count} unpaid bills", { count: 3 })  -> placeholders by name
//
// pybabel extracts every t("...") call (make i18n), so pass a literal string.

const element = document.getElementById("i18n-data");
const data = element ? JSON.parse(element.textContent) : {};
const messages = data.messages || {};

export const LANG = data.lang || "en";
// Intl locale of the page ("hi-IN"); digits stay Latin in every language.
export const LOCALE = `${data.locale || "en-IN"}-u-nu-latn`;

export function t(message, values) {
  const text = messages[message] || message;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

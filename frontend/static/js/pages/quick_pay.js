// Quick pay: a consumer number -> amount due, due date, masked name -> the gateway.
// The API decides the amount; nothing typed here but the number and the method is sent.
import { ApiError, get, post } from "../api.js";
import { boot, h, fill, onSubmit, param } from "../ui.js";
import { dateIST, rupees } from "../format.js";
import { t } from "../i18n.js";

await boot("public");
const form = document.getElementById("quick-pay-form");
const input = document.getElementById("quick-pay-consumer_number");
const card = document.getElementById("quick-pay-bill");
let current = null;

const OUTCOMES = {
  paid: ["success", t("Thank you: your payment is received.")],
  failed: ["warning", t("The payment did not go through. Nothing was taken; you can try again.")],
  pending: ["info", t("The payment is being confirmed. Check again in a few minutes.")],
  not_applied: ["warning", t("The payment was received but the bill had changed: it will be refunded.")],
};

async function show(number) {
  card.hidden = true;
  const due = await get(`/quick-pay/${encodeURIComponent(number)}`);
  current = due.consumer_number;
  fill("quick-pay-name", due.name);
  fill("quick-pay-amount", rupees(due.amount_due));
  fill("quick-pay-due", dateIST(due.due_date));
  card.hidden = false;
}

onSubmit(form, async (values) => {
  // Spaces and dashes as printed ("1000 0000 17") are fine; the API checks the digits.
  const number = values.consumer_number.replace(/[\s-]+/g, "");
  if (!/^\d{10}$/.test(number)) {
    throw new ApiError(400, { message: t("A consumer number has 10 digits. It is printed at the top of your bill.") }, "");
  }
  await show(number);
});

onSubmit(document.getElementById("quick-pay-pay-form"), async (values) => {
  const order = await post(`/quick-pay/${encodeURIComponent(current)}/pay`, { method: values.method });
  if (!/^https?:\/\//.test(order.checkout_url)) throw new Error("unexpected checkout address");
  location.assign(order.checkout_url);
});

const outcome = OUTCOMES[param("payment")];
if (outcome) {
  fill("quick-pay-outcome", h("div", { class: `alert alert-${outcome[0]}`, role: "status", text: outcome[1] }));
}
if (param("n")) input.value = param("n");

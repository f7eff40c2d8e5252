import { get, post } from "../api.js";
import { boot, h, fill, facts, badge, errorState, emptyState, link, onSubmit, param } from "../ui.js";
import { dateIST, period, rupees } from "../format.js";
import { t } from "../i18n.js";

await boot("customer");
const billId = param("bill") || "";
const form = document.getElementById("pay-form");

try {
  // The amount shown is what the API says is due; the order is created for
  // the bill's amount due on the server, never for a number sent from here.
  const balance = await get("/me/balance");
  const bill = balance.bills.find((b) => b.bill_id === billId);
  if (!bill) {
    fill("pay-summary", emptyState(t("This bill has nothing left to pay."),
      link(`bill.html?id=${encodeURIComponent(billId)}`, t("View the bill"), "btn btn-outline-primary btn-sm")));
  } else {
    fill("pay-summary", h("section", { class: "card mb-3" }, h("div", { class: "card-body" },
      h("p", { class: "stat-label mb-1", text: t("Amount due") }),
      h("p", { class: "display-6 fw-semibold amount mb-2", id: "amount-due", text: rupees(bill.amount_due) }),
      facts([
        [t("Bill"), h("span", { class: "font-monospace small", text: bill.bill_id })],
        [t("Period"), period(bill.period)],
        [t("Due date"), dateIST(bill.due_date)],
        [t("Status"), badge(bill.status)],
        bill.late_surcharge && Number(bill.late_surcharge) > 0 ? [t("Late-payment surcharge"), rupees(bill.late_surcharge)] : null,
      ], "row mb-0 facts-wide"))));
    form.hidden = false;
  }
} catch (error) {
  fill("pay-summary", errorState(error));
}

onSubmit(form, async (values) => {
  const order = await post(`/bills/${encodeURIComponent(billId)}/pay`, { method: values.method });
  if (!/^https?:\/\//.test(order.checkout_url)) throw new Error("unexpected checkout address");
  fill("pay-result", h("p", { class: "text-body-secondary", role: "status", text: t("Taking you to the secure checkout…") }));
  location.assign(order.checkout_url);
});

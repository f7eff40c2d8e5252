"""Every page of the portal, in one list: the build renders exactly these, the
navigation bar is made from them and the tests visit each one.

A page's template is ``templates/pages/<path>`` and its script is
``frontend/static/js/pages/<script>.js`` (an ES module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


def _(message: str) -> str:
    """Marks a title or label for the catalogues (pybabel extract); the templates
    translate it when each language's site is built."""
    return message


# public: anyone; customer / admin: that role only; user: any signed-in user.
Area = Literal["public", "customer", "admin", "user"]


@dataclass(frozen=True)
class Page:
    path: str  # output path inside site/, e.g. "admin/runs.html"
    title: str
    area: Area
    script: str  # module name under static/js/pages/
    nav: str | None = None  # label in the navigation bar of its area; None: not listed

    @property
    def depth(self) -> int:
        return self.path.count("/")

    @property
    def root(self) -> str:
        """Relative prefix from this page to the site root, so the site works
        from any base path (a bucket, a sub-folder, file://)."""
        return "../" * self.depth


PAGES: tuple[Page, ...] = (
    # Signed out
    Page("index.html", _("Welcome"), "public", "home"),
    Page("signup.html", _("Create your account"), "public", "signup"),
    Page("verify-email.html", _("Verify your email"), "public", "verify_email"),
    Page("login.html", _("Sign in"), "public", "login"),
    Page("login-link.html", _("Signing you in"), "public", "login_link"),
    Page("quick-pay.html", _("Quick pay"), "public", "quick_pay"),
    Page("404.html", _("Page not found"), "public", "not_found"),
    # Customers (owners and tenants)
    Page("dashboard.html", _("Dashboard"), "customer", "dashboard", nav=_("Dashboard")),
    Page("bills.html", _("Bills"), "customer", "bills", nav=_("Bills")),
    Page("bill.html", _("Bill"), "customer", "bill"),
    Page("pay.html", _("Pay bill"), "customer", "pay"),
    Page("properties.html", _("Properties"), "customer", "properties", nav=_("Properties")),
    Page("property.html", _("Property"), "customer", "property"),
    Page("invitations.html", _("Invitations"), "customer", "invitations"),
    Page("prepaid.html", _("Prepaid"), "customer", "prepaid", nav=_("Prepaid")),
    Page("tickets.html", _("Support"), "customer", "tickets", nav=_("Support")),
    Page("ticket.html", _("Ticket"), "customer", "ticket"),
    Page("profile.html", _("Profile"), "user", "profile"),
    # Administrators
    Page("admin/index.html", _("Overview"), "admin", "admin_home", nav=_("Overview")),
    Page("admin/customers.html", _("Customers"), "admin", "admin_customers", nav=_("Customers")),
    Page("admin/meters.html", _("Meters"), "admin", "admin_meters", nav=_("Meters")),
    Page("admin/tariffs.html", _("Tariffs"), "admin", "admin_tariffs", nav=_("Tariffs")),
    Page("admin/runs.html", _("Billing runs"), "admin", "admin_runs", nav=_("Billing runs")),
    Page("admin/run.html", _("Billing run"), "admin", "admin_run"),
    Page("admin/payments.html", _("Payments"), "admin", "admin_payments", nav=_("Payments")),
    Page("admin/notifications.html", _("Bill emails"), "admin", "admin_notifications",
         nav=_("Bill emails")),
    Page("admin/prepaid.html", _("Prepaid connections"), "admin", "admin_prepaid",
         nav=_("Prepaid")),
    Page("admin/tickets.html", _("Tickets"), "admin", "admin_tickets", nav=_("Tickets")),
    Page("admin/ticket.html", _("Ticket"), "admin", "admin_ticket"),
)


def nav_pages(area: Area) -> list[Page]:
    return [page for page in PAGES if page.area == area and page.nav]

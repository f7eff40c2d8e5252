"""Every page of the portal, in one list: the build renders exactly these, the
navigation bar is made from them and the tests visit each one.

A page's template is ``templates/pages/<path>`` and its script is
``frontend/static/js/pages/<script>.js`` (an ES module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    Page("index.html", "Welcome", "public", "home"),
    Page("signup.html", "Create your account", "public", "signup"),
    Page("verify-email.html", "Verify your email", "public", "verify_email"),
    Page("login.html", "Sign in", "public", "login"),
    Page("login-link.html", "Signing you in", "public", "login_link"),
    Page("404.html", "Page not found", "public", "not_found"),
    # Customers (owners and tenants)
    Page("dashboard.html", "Dashboard", "customer", "dashboard", nav="Dashboard"),
    Page("bills.html", "Bills", "customer", "bills", nav="Bills"),
    Page("bill.html", "Bill", "customer", "bill"),
    Page("pay.html", "Pay bill", "customer", "pay"),
    Page("properties.html", "Properties", "customer", "properties", nav="Properties"),
    Page("property.html", "Property", "customer", "property"),
    Page("invitations.html", "Invitations", "customer", "invitations"),
    Page("tickets.html", "Support", "customer", "tickets", nav="Support"),
    Page("ticket.html", "Ticket", "customer", "ticket"),
    Page("profile.html", "Profile", "user", "profile"),
    # Administrators
    Page("admin/index.html", "Overview", "admin", "admin_home", nav="Overview"),
    Page("admin/customers.html", "Customers", "admin", "admin_customers", nav="Customers"),
    Page("admin/meters.html", "Meters", "admin", "admin_meters", nav="Meters"),
    Page("admin/tariffs.html", "Tariffs", "admin", "admin_tariffs", nav="Tariffs"),
    Page("admin/runs.html", "Billing runs", "admin", "admin_runs", nav="Billing runs"),
    Page("admin/run.html", "Billing run", "admin", "admin_run"),
    Page("admin/payments.html", "Payments", "admin", "admin_payments", nav="Payments"),
    Page("admin/notifications.html", "Bill emails", "admin", "admin_notifications",
         nav="Bill emails"),
    Page("admin/tickets.html", "Tickets", "admin", "admin_tickets", nav="Tickets"),
    Page("admin/ticket.html", "Ticket", "admin", "admin_ticket"),
)


def nav_pages(area: Area) -> list[Page]:
    return [page for page in PAGES if page.area == area and page.nav]

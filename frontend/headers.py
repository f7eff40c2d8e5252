"""The portal's HTTP security headers: one definition for every place that serves it,
CloudFront's response headers policy (infra/resources_template.py) and the local static
server (devstack/static_server.py).

The pages also carry a Content-Security-Policy <meta> tag (templates/layout/base.html) with
the API's origin in connect-src, which is known only when the site is built. A browser
enforces every policy it is given, so the header adds what a <meta> cannot say
(frame-ancestors: nobody may frame the portal) and repeats the origin-free directives.
"""

from __future__ import annotations

HSTS_MAX_AGE = 63_072_000  # two years, the usual preload figure

# No default-src here: it would stand in for connect-src and block the API's origin, which
# only the <meta> policy names (a request must pass both policies).
PORTAL_CSP = ("script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
              "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

PORTAL_HEADERS: dict[str, str] = {
    "Content-Security-Policy": PORTAL_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": f"max-age={HSTS_MAX_AGE}; includeSubDomains",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

"""The API's interactive reference: Swagger UI (npm swagger-ui-dist, no CDN) at <site>/docs/,
reading the API's own /openapi.json (issue 22 item 5). `make run` serves it with the portal:
http://127.0.0.1:8080/docs/.

A page of its own (not one of frontend.pages.PAGES): no portal layout, no sign-in. It keeps
the portal's CSP (scripts and styles from the site only, so the start-up script is a file,
not inline) and may fetch from the API's origin only.
"""

from __future__ import annotations

import shutil
from html import escape
from pathlib import Path

DOCS_DIR = "docs"
# node_modules file -> name under <site>/docs/
SWAGGER_FILES = {
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
    "swagger-ui-dist/LICENSE": "LICENSE-swagger-ui.txt",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="Content-Security-Policy" content="{csp}">
  <meta name="referrer" content="no-referrer">
  <meta name="openapi-url" content="{spec_url}">
  <title>API reference · {title}</title>
  <link rel="icon" href="../static/img/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="swagger-ui.css">
</head>
<body>
  <main id="swagger-ui" aria-label="API reference"></main>
  <script src="swagger-ui-bundle.js"></script>
  <script src="start.js"></script>
</body>
</html>
"""

# The spec's URL comes from the page (written at build time), so this file is the same
# for every build. "Try it out" sends requests to the API with a token typed into Authorize.
START = """const specUrl = document.querySelector('meta[name="openapi-url"]').content;
window.ui = SwaggerUIBundle({
  url: specUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: false,
  persistAuthorization: false,
  displayOperationId: true,
  docExpansion: "none",
  presets: [SwaggerUIBundle.presets.apis],
});
"""


def write_api_docs(site: Path, node_modules: Path, api_base_url: str, api_origin: str,
                   title: str) -> Path:
    """Write <site>/docs/index.html, its start-up script and Swagger UI's files."""
    docs = site / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    for source, name in SWAGGER_FILES.items():
        path = node_modules / source
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: is swagger-ui-dist in package.json?")
        shutil.copyfile(path, docs / name)
    spec_url = api_base_url.rstrip("/") + "/openapi.json"
    page = docs / "index.html"
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           f"font-src 'self' data:; connect-src 'self' {api_origin}; object-src 'none'; "
           "base-uri 'self'; form-action 'self'")
    page.write_text(PAGE.format(csp=escape(csp, quote=False), spec_url=escape(spec_url),
                                title=escape(title)), encoding="utf-8")
    (docs / "start.js").write_text(START, encoding="utf-8")
    return page

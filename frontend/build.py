"""`make site`: render the portal into a static site.

    python -m frontend.build [--out site] [--api-base-url URL]

Renders every page of frontend.pages.PAGES from templates/pages/ with
templates/layout/, copies frontend/static/ to <out>/static/ and the front-end
packages (Bootstrap, Chart.js; npm ci from package-lock.json, no CDN) to
<out>/vendor/. The API's base URL is written into every page at build time
(env API_BASE_URL), the only thing that differs between a laptop and the cloud.

The site is built once per language (functions/core/locale/languages.toml):
English at <out>/, every other language at <out>/<code>/ (a whole site each, so
relative links and assets work unchanged). Templates are translated with
Jinja2's i18n extension from the gettext catalogues; the messages the scripts
use (t("...")) are written into each page as JSON for static/js/i18n.js.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from babel.messages.extract import extract_from_file
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from frontend.api_docs import write_api_docs
from frontend.pages import PAGES, Page, _, nav_pages
from functions.core.i18n import DEFAULT_LANGUAGE, Language, languages, translator

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = Path(__file__).resolve().parent / "static"
NODE_MODULES = ROOT / "node_modules"
DEFAULT_API_BASE_URL = "http://127.0.0.1:8000"
SITE_NAME = _("Discom Smart Billing")

# node_modules file -> name under <out>/vendor/
VENDOR_FILES = {
    "bootstrap/dist/css/bootstrap.min.css": "bootstrap.min.css",
    "bootstrap/dist/css/bootstrap.min.css.map": "bootstrap.min.css.map",
    "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap.bundle.min.js",
    "bootstrap/dist/js/bootstrap.bundle.min.js.map": "bootstrap.bundle.min.js.map",
    "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
    "chart.js/dist/chart.umd.min.js.map": "chart.umd.min.js.map",
    # Devanagari text (Hindi, Marathi): Noto Sans Devanagari, regular and bold.
    "@fontsource/noto-sans-devanagari/files/noto-sans-devanagari-devanagari-400-normal.woff2":
        "fonts/noto-sans-devanagari-400.woff2",
    "@fontsource/noto-sans-devanagari/files/noto-sans-devanagari-devanagari-700-normal.woff2":
        "fonts/noto-sans-devanagari-700.woff2",
}
SCRIPTS = STATIC / "js"
STAMP = NODE_MODULES / ".portal-lock-sha256"


class BuildError(RuntimeError):
    pass


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BuildError(f"API base URL must be an http(s) URL, got {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def environment(lang: str = DEFAULT_LANGUAGE) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a typo in a template fails the build, not the page
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translator(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def script_messages() -> list[str]:
    """Every message the scripts pass to t("..."), as pybabel extracts them."""
    found: set[str] = set()
    for path in sorted(SCRIPTS.rglob("*.js")):
        for _line, message, _comments, _context in extract_from_file(
                "javascript", path, keywords={"t": None}):
            if isinstance(message, str):
                found.add(message)
    return sorted(found)


def language_links(page: Page, lang: str) -> list[dict[str, str | bool]]:
    """The same page in every language, relative to this one."""
    site_root = page.root + ("" if lang == DEFAULT_LANGUAGE else "../")
    return [{"code": code, "name": other.name, "html_lang": other.html_lang,
             "current": code == lang,
             "href": site_root + ("" if code == DEFAULT_LANGUAGE else f"{code}/") + page.path}
            for code, other in languages().items()]


def render_page(env: Environment, page: Page, api_base_url: str,
                lang: Language | None = None, messages: dict[str, str] | None = None) -> str:
    language = lang or languages()[DEFAULT_LANGUAGE]
    template = env.get_template(f"pages/{page.path}")
    return template.render(
        page=page,
        root=page.root,
        site_name=SITE_NAME,
        api_base_url=api_base_url.rstrip("/"),
        api_origin=origin_of(api_base_url),
        customer_nav=nav_pages("customer"),
        admin_nav=nav_pages("admin"),
        lang=language,
        language_links=language_links(page, language.code),
        language_options=[(code, other.name) for code, other in languages().items()],
        i18n_data={"lang": language.code, "locale": language.html_lang,
                   "messages": messages or {}},
    )


def ensure_node_modules() -> Path:
    """npm ci when package-lock.json changed since the last install."""
    lock = ROOT / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return NODE_MODULES
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is needed to fetch Bootstrap and Chart.js (apt-get install npm)")
    # A fixed command line (no user input); npm comes from PATH.
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S603
                   cwd=ROOT, check=True)
    STAMP.write_text(digest)
    return NODE_MODULES


def copy_vendor(out: Path, node_modules: Path) -> None:
    vendor = out / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    for source, name in VENDOR_FILES.items():
        path = node_modules / source
        if not path.exists():
            raise BuildError(f"{path} is missing: is package.json in step with VENDOR_FILES?")
        (vendor / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, vendor / name)


def build(out: Path, api_base_url: str = DEFAULT_API_BASE_URL, *,
          node_modules: Path | None = None) -> list[Path]:
    """Build the site into ``out`` (emptied first) and return the pages written."""
    origin_of(api_base_url)  # fail early on a bad URL
    modules = node_modules or ensure_node_modules()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = []
    to_translate = script_messages()
    for code, language in languages().items():
        site = out if code == DEFAULT_LANGUAGE else out / code
        env = environment(code)
        gettext = translator(code).gettext
        messages = {} if code == DEFAULT_LANGUAGE else {
            message: gettext(message) for message in to_translate
            if gettext(message) != message}
        for page in PAGES:
            target = site / page.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render_page(env, page, api_base_url, language, messages),
                              encoding="utf-8")
            written.append(target)
        shutil.copytree(STATIC, site / "static")
        copy_vendor(site, modules)
    # The API reference (Swagger UI) at /docs/, once: it is in English only.
    write_api_docs(out, modules, api_base_url, origin_of(api_base_url), SITE_NAME)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the static portal.")
    parser.add_argument("--out", type=Path, default=ROOT / "site")
    parser.add_argument("--api-base-url",
                        default=os.environ.get("API_BASE_URL", DEFAULT_API_BASE_URL))
    args = parser.parse_args(argv)
    try:
        pages = build(args.out, args.api_base_url)
    except (BuildError, subprocess.CalledProcessError) as error:
        print(f"site build failed: {error}", file=sys.stderr)
        return 1
    print(f"site: {len(pages)} pages in {args.out} (API {args.api_base_url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

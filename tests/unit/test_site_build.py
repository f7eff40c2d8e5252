"""The portal builds: every page renders from its template, every link, script
and stylesheet it names exists in the built site, and forms are labelled."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from frontend.build import BuildError, build
from frontend.pages import PAGES

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "pages"
API = "https://api.example.test/v1"


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        for key in ("href", "src"):
            if a.get(key):
                self.refs.append(a[key] or "")
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"] or "")
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a)
        if tag == "meta" and a.get("name"):
            self.meta[a["name"] or ""] = a.get("content") or ""
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build(out, API)
    return out


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_template_is_a_page_and_every_page_is_built(site: Path) -> None:
    templates = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")}
    assert templates == {page.path for page in PAGES}
    for page in PAGES:
        assert (site / page.path).is_file(), page.path


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.path)
def test_page_renders_with_its_links_resolving(site: Path, page) -> None:
    path = site / page.path
    html = path.read_text(encoding="utf-8")
    assert "{{" not in html and "{%" not in html, "unrendered Jinja"
    parsed = parse(path)
    assert parsed.title.startswith(page.title)
    assert parsed.meta["api-base"] == API
    for ref in parsed.refs:
        parts = urlsplit(ref)
        if parts.scheme or ref.startswith("#"):
            continue
        target = (path.parent / parts.path).resolve()
        assert target.is_file(), f"{page.path} links to missing {ref}"
    assert (site / "static/js/pages" / f"{page.script}.js").is_file()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.path)
def test_every_form_control_has_a_label(site: Path, page) -> None:
    parsed = parse(site / page.path)
    for control in parsed.controls:
        labelled = (control.get("id") in parsed.label_for or control.get("aria-label")
                    or control.get("aria-labelledby"))
        assert labelled, f"{page.path}: control {control} has no label"
        for ref in (control.get("aria-describedby") or "").split():
            assert ref in parsed.ids, f"{page.path}: aria-describedby names missing #{ref}"


def test_only_the_api_origin_may_be_called(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    assert "connect-src 'self' https://api.example.test;" in csp.group(1)
    assert "script-src 'self';" in csp.group(1)


def test_javascript_imports_resolve(site: Path) -> None:
    scripts = list((site / "static/js").rglob("*.js"))
    assert scripts
    for script in scripts:
        for target in re.findall(r'from\s+"(\.[^"]+)"', script.read_text(encoding="utf-8")):
            assert (script.parent / target).resolve().is_file(), f"{script}: {target}"


def test_vendor_files_come_from_npm_not_a_cdn(site: Path) -> None:
    for name in ("bootstrap.min.css", "bootstrap.bundle.min.js", "chart.umd.min.js"):
        assert (site / "vendor" / name).stat().st_size > 10_000
    for page in PAGES:
        assert "cdn" not in (site / page.path).read_text(encoding="utf-8").lower()


def test_api_data_is_never_parsed_as_html(site: Path) -> None:
    for script in (site / "static/js").rglob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, script.name


def test_a_bad_api_url_fails_the_build(tmp_path: Path) -> None:
    with pytest.raises(BuildError):
        build(tmp_path / "site", "javascript:alert(1)")

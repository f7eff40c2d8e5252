"""The web portal: Jinja2 templates (templates/) rendered at build time into a
static site (site/) that calls the API from the browser. See frontend.build."""

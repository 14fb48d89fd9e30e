"""A dossier as PDF, by WeasyPrint: the same HTML and print stylesheet as the
printable page, laid out by a CSS paged-media engine (page numbers and the case's
reference in the footer come from ``@page`` rules), with the fonts vendored under
``static/fonts/``. Nothing is fetched from the network: the only URLs the renderer may
open are our own static files."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

STYLESHEET = "css/dossier.css"


class StaticFilesOnly(URLFetcher):
    """Opens ``file:`` URLs inside the project's static folders and nothing else: a
    link, an image or a stylesheet in a dossier can never reach another machine or
    another file on this one."""

    def fetch(self, url, headers=None):
        if not url.startswith("file:"):
            raise ValueError(f"A dossier loads only its own static files, not {url}")
        path = Path(URLFetcherResponse(url).path).resolve()
        if not any(path.is_relative_to(folder) for folder in static_folders()):
            raise ValueError(f"A dossier loads only its own static files, not {path}")
        return URLFetcherResponse(url, path.read_bytes())


def static_folders():
    folders = [Path(folder).resolve() for folder in settings.STATICFILES_DIRS]
    return [*folders, Path(settings.STATIC_ROOT).resolve()]


def render_pdf(html):
    """The PDF of a dossier page's HTML."""
    fetcher = StaticFilesOnly()
    fonts = FontConfiguration()
    stylesheet = CSS(filename=finders.find(STYLESHEET), url_fetcher=fetcher, font_config=fonts)
    document = HTML(string=html, url_fetcher=fetcher, base_url=None)
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts)

"""The sitemap protocol (sitemaps.org 0.9): a `<urlset>` of absolute URLs, rendered as XML."""

from xml.sax.saxutils import escape

from fastapi.responses import Response

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"


class SitemapXML(Response):
    media_type = "application/xml"


def render(urls: list[str]) -> bytes:
    """The sitemap document listing `urls` (already absolute) in the order given."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{NAMESPACE}">']
    lines += [f"<url><loc>{escape(url)}</loc></url>" for url in urls]
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode()

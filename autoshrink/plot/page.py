"""Plotly figures as one offline HTML page: what `autoshrink quality` and `autoshrink compare`
write, and what export writes beside a cell."""
from __future__ import annotations

import html
from pathlib import Path


def write_page(path, title: str, figures, head: str = "", tail: str = "") -> Path:
    """Plotly `figures` in one offline HTML page (plotly.js inlined once), `head` and `tail` HTML around them."""
    parts = [f.to_html(full_html=False, include_plotlyjs=(k == 0)) for k, f in enumerate(figures)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
                    + head + "".join(parts) + tail + "</body></html>")
    return path

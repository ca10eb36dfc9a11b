"""Rewrite the generated "Set up" section of docs/idp/*.md from scim_portal/guide.py.

    python scripts/idp_guides.py          # write
    python scripts/idp_guides.py --check  # exit 1 when a page is out of date
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_site.settings")

import django  # noqa: E402

django.setup()

from scim_portal.guide import EXAMPLE_CONTEXT, GUIDES, with_guide  # noqa: E402


def main(check: bool) -> int:
    stale = []
    for make in GUIDES.values():
        guide = make(EXAMPLE_CONTEXT)
        page = ROOT / "docs" / guide.doc_page
        text = page.read_text(encoding="utf-8")
        updated = with_guide(text, guide)
        if updated != text:
            stale.append(guide.doc_page)
            if not check:
                page.write_text(updated, encoding="utf-8")
    if stale:
        print(("out of date: " if check else "rewrote: ") + ", ".join(stale))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))

"""The house style of Tally's PDFs (invoices, credit notes, statements, quotes): an A4 page with even margins,
the colours, the paragraph styles every document starts from, and the document template that lays them out."""

from __future__ import annotations

from typing import BinaryIO

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate

__all__ = ["BAND", "BASE", "BOLD", "INK", "MARGIN", "MUTED", "RULE", "SMALL", "TITLE", "WIDTH", "a4_document"]

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
"""What the margins leave of the page's width for the story."""

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
BAND = colors.HexColor("#f0f4f8")
"""Every other row of a table."""

BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=9, leading=11.5, textColor=INK)
BOLD = ParagraphStyle("bold", parent=BASE, fontName="Helvetica-Bold")
SMALL = ParagraphStyle("small", parent=BASE, fontSize=8, leading=10, textColor=MUTED)
TITLE = ParagraphStyle("title", parent=BOLD, fontSize=20, leading=24, alignment=TA_RIGHT)


def a4_document(buffer: BinaryIO, *, title: str, author: str) -> SimpleDocTemplate:
    """A template laying a story out on A4 pages within the house margins; ``build`` writes the PDF to buffer."""
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
    )

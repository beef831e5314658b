"""The statistics exports: what a spreadsheet gets from SMSC's text."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from handlers.stats.views import xlsx_file


def test_only_ascii_digits_become_numbers_in_the_workbook() -> None:
    # str.isdigit() is true of "²" and "①", which int() refuses: such text stays text.
    table = [["login", "messages", "spent"], ["²", "12", "3.50"], ["①⓪", "-1", "x.5"]]
    sheet = load_workbook(io.BytesIO(xlsx_file(table, "t.xlsx", "T").data)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert cells == [["²", 12, Decimal("3.50")], ["①⓪", "-1", "x.5"]]

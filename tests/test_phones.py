"""Phone parsing: the account's country, Telegram contacts, free text, bulk lists and files."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.phones import (
    digits_of,
    display_stored,
    find_phones,
    parse_file,
    parse_list,
    parse_phone,
    parse_shared,
    pick_phone,
    region_for_site,
    split_phone_prefix,
)


@pytest.mark.parametrize(
    ("site", "region"),
    [
        ("smsc.ru", "RU"),
        ("smscentre.com", "RU"),
        ("smsc.kz", "KZ"),
        ("smsc.ua", "UA"),
        ("demo", "RU"),
    ],
)
def test_region_follows_the_site(site: str, region: str) -> None:
    assert region_for_site(site) == region


@pytest.mark.parametrize(
    "text", ["89991234567", "+7 999 123-45-67", "7 (999) 123 45 67", "9991234567", "79991234567"]
)
def test_russian_numbers_in_every_usual_spelling(text: str) -> None:
    phone = parse_phone(text, "RU")
    assert phone is not None
    assert phone.digits == "79991234567"
    assert phone.display == "+7 999 123-45-67"


def test_the_same_digits_mean_different_numbers_per_country() -> None:
    kz = parse_phone("87011234567", "KZ")
    ua = parse_phone("0501234567", "UA")
    assert kz is not None and kz.digits == "77011234567"
    assert ua is not None and ua.digits == "380501234567"
    assert parse_phone("0501234567", "RU") is None


@pytest.mark.parametrize(
    "text", ["", "12345", "+7 999", "hello", "8999123456789012345", "79991234567; drop", "+7 abc"]
)
def test_invalid_numbers_are_refused(text: str) -> None:
    assert parse_phone(text, "RU") is None


def test_shared_contacts_are_international_without_the_plus() -> None:
    ua = parse_shared("380501234567", "RU")
    assert ua is not None and ua.display == "+380 50 123 4567"
    ru = parse_shared("+79991234567", "KZ")
    assert ru is not None and ru.digits == "79991234567"
    local = parse_shared("89991234567", "RU")
    assert local is not None and local.digits == "79991234567"


def test_numbers_in_free_text() -> None:
    text = "Звонили с +7 999 123-45-67 и ещё 8 (916) 000-11-22, потом снова +79991234567."
    assert [p.digits for p in find_phones(text, "RU")] == ["79991234567", "79160001122"]
    assert pick_phone("my number: 8 999 123 45 67", "RU") is not None
    assert pick_phone(text, "RU") is None  # two numbers: which one is meant is unclear


def test_number_then_name() -> None:
    phone, name = split_phone_prefix("+7 999 123 45 67 Иван Петров", "RU")
    assert phone is not None and phone.digits == "79991234567" and name == "Иван Петров"
    phone, name = split_phone_prefix("12345 Иван", "RU")
    assert phone is None and name == "Иван"


def test_stored_digits_are_shown_formatted() -> None:
    assert display_stored("79991234567", "RU") == "+7 999 123-45-67"
    assert display_stored("380501234567", "RU") == "+380 50 123 4567"
    assert display_stored("123", "RU") == "123"


def test_a_list_in_one_message() -> None:
    text = "+7 999 123-45-67\n89991234568, 8 999 123 45 69; 12345\n\n+79991234567 hello"
    parsed = parse_list(text, "RU")
    assert [p.digits for p in parsed.phones] == ["79991234567", "79991234568", "79991234569"]
    assert parsed.invalid == ["12345"]


def test_numbers_separated_by_spaces_only() -> None:
    parsed = parse_list("+79991234567 +79991234568 89991234569 +7 999 123 45 70 777", "RU")
    assert [p.digits[-2:] for p in parsed.phones] == ["67", "68", "69", "70"]
    assert parsed.invalid == ["777"]


def test_a_long_line_of_numbers_is_parsed_in_linear_time() -> None:
    line = " ".join(f"+7999{i:07d}" for i in range(3000))
    started = time.perf_counter()
    parsed = parse_list(line, "RU")
    assert len(parsed.phones) == 3000
    assert time.perf_counter() - started < 5


def test_csv_takes_the_number_cell_and_skips_headers() -> None:
    content = "name;phone;note\nИван;+7 999 123-45-67;друг\nПётр;12-34;\nАнна;89991234568;\n"
    parsed = parse_file("export.csv", content.encode("cp1251"), "RU")
    assert [p.digits for p in parsed.phones] == ["79991234567", "79991234568"]
    assert parsed.invalid == ["12-34"]


def test_txt_with_bom() -> None:
    parsed = parse_file("list.TXT", "\ufeff89991234567\r\n89991234568\r\n".encode(), "RU")
    assert len(parsed.phones) == 2 and not parsed.invalid


@given(st.text(max_size=60))
def test_parsing_never_raises(text: str) -> None:
    parse_phone(text, "RU")
    pick_phone(text, "KZ")
    parse_list(text, "UA")
    split_phone_prefix(text, "RU")


def test_digits_of_takes_the_digits_a_number_is_written_with() -> None:
    assert digits_of("+7 (916) 123-45-67") == "79161234567"
    assert digits_of("²916①") == "916"

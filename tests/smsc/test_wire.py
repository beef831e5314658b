"""The client's wire rules, failure handling and limits, over HTTP against the emulator."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.smsc import (
    Credentials,
    SmscBadResponse,
    SmscConnector,
    SmscError,
    SmscSettings,
    SmscUnavailable,
)
from bot.smsc.budget import KNOWN_GOOD_IN_FLIGHT
from bot.smsc.emulator import SmscEmulator
from tests.conftest import APIKEY, LOGIN, PASSWORD, ManualClock, closed_port


async def test_every_call_is_a_post_with_fmt3_utf8_and_no_secret_in_the_url(
    connector: SmscConnector, emulator: SmscEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password_client = connector.client(Credentials.with_password(LOGIN, PASSWORD))
    apikey_client = connector.client(Credentials.with_apikey(APIKEY))
    await password_client.get_balance()
    await password_client.add_black("79001234567")
    await password_client.get_groups()
    await apikey_client.get_templates()
    await apikey_client.add_group("Secretless")
    assert len(emulator.requests) == 5
    for request in emulator.requests:
        assert request.method == "POST"
        assert request.raw_query == ""
        assert request.params["fmt"] == "3"
        assert request.params["charset"] == "utf-8"
        assert PASSWORD not in request.path and APIKEY not in request.path
    for secret in (PASSWORD, APIKEY):
        assert secret not in caplog.text
        assert secret not in repr(password_client) + repr(apikey_client)
        assert secret not in repr(Credentials.with_password(LOGIN, PASSWORD))


@pytest.mark.parametrize("code", range(1, 12))
async def test_each_smsc_error_code_is_raised_with_code_and_command(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator, code: int
) -> None:
    emulator.fault = code
    # A write, since a list command reads error 3 ("no records found") as an empty list.
    with pytest.raises(SmscError) as err:
        await connector.client(credentials).delete_template(1)
    assert err.value.code == code
    assert err.value.command == "templates.del"
    assert not err.value.local
    assert PASSWORD not in str(err.value)


async def test_real_error_2_wrong_password_is_not_retried(
    connector: SmscConnector, emulator: SmscEmulator
) -> None:
    bad = connector.client(Credentials.with_password(LOGIN, "wrong-password"))
    with pytest.raises(SmscError) as err:
        await bad.get_balance()
    assert err.value.code == 2
    assert len(emulator.requests) == 1
    assert "wrong-password" not in str(err.value)


async def test_error_4_puts_the_host_in_cool_down(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator, clock: ManualClock
) -> None:
    smsc = connector.client(credentials)
    emulator.fault = 4
    with pytest.raises(SmscError) as first:
        await smsc.get_groups()
    assert (first.value.code, first.value.local) == (4, False)
    emulator.fault = None
    with pytest.raises(SmscError) as second:
        await connector.client(Credentials.with_apikey(APIKEY)).get_balance()
    assert (second.value.code, second.value.local) == (4, True)
    assert second.value.retry_after and second.value.retry_after > 60
    assert len(emulator.requests) == 1
    clock.advance(31 * 60)
    await smsc.get_groups()
    assert len(emulator.requests) == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [("html", SmscBadResponse), ("garbage", SmscBadResponse), ("http500", SmscUnavailable)],
)
async def test_garbage_html_and_http_500(
    connector: SmscConnector,
    credentials: Credentials,
    emulator: SmscEmulator,
    fault: str,
    error: type[Exception],
) -> None:
    emulator.fault = fault
    with pytest.raises(error) as err:
        await connector.client(credentials).get_groups()
    assert err.value.command == "phones.get_group"  # type: ignore[attr-defined]


async def test_timeout_is_unavailable(credentials: Credentials, emulator: SmscEmulator) -> None:
    emulator.fault = "slow"
    emulator.slow_seconds = 5.0
    connector = SmscConnector(SmscSettings(api_url=emulator.base_url, call_timeout=0.3))
    try:
        with pytest.raises(SmscUnavailable) as err:
            await connector.client(credentials).get_groups()
    finally:
        await connector.aclose()
    assert err.value.reason == "timeout"
    assert not err.value.uncertain


async def test_connection_refused_is_unavailable(credentials: Credentials) -> None:
    connector = SmscConnector(SmscSettings(api_url=f"http://127.0.0.1:{closed_port()}"))
    try:
        with pytest.raises(SmscUnavailable) as err:
            await connector.client(credentials).get_balance()
    finally:
        await connector.aclose()
    assert err.value.command == "balance.balance"


async def test_a_write_that_got_no_answer_is_not_repeated(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    emulator.fault = "drop"
    with pytest.raises(SmscUnavailable) as err:
        await connector.client(credentials).add_black("79001112233")
    assert err.value.uncertain
    assert len(emulator.requests) == 1


async def test_backup_host_only_for_reads_when_main_unreachable(
    credentials: Credentials, emulator: SmscEmulator
) -> None:
    connector = SmscConnector(
        SmscSettings(api_url=f"http://127.0.0.1:{closed_port()}", backup_api_url=emulator.base_url)
    )
    try:
        smsc = connector.client(credentials)
        assert (await smsc.get_balance()).currency == "RUB"
        assert len(emulator.requests) == 1
        with pytest.raises(SmscUnavailable):
            await smsc.add_black("79005556677")
        assert len(emulator.requests) == 1
    finally:
        await connector.aclose()


async def test_backup_host_not_tried_when_main_answers_with_an_error(
    credentials: Credentials, emulator: SmscEmulator
) -> None:
    backup = SmscEmulator()
    backup.add_account(LOGIN, PASSWORD)
    await backup.start()
    connector = SmscConnector(
        SmscSettings(api_url=emulator.base_url, backup_api_url=backup.base_url)
    )
    try:
        emulator.fault = "http500"
        with pytest.raises(SmscUnavailable):
            await connector.client(credentials).get_groups()
        assert backup.requests == []
    finally:
        await connector.aclose()
        await backup.stop()


async def test_ten_refreshes_in_a_minute_reach_smsc_at_most_three_times(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator, clock: ManualClock
) -> None:
    for _ in range(10):
        groups = await connector.client(credentials).get_groups()
        assert groups is not None
        clock.advance(6)
    assert len(emulator.requests) <= 3
    assert len(emulator.requests) >= 2  # the cache expires: a refresh does reach SMSC again


async def test_a_write_invalidates_the_cached_list(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    smsc = connector.client(credentials)
    before = await smsc.get_black(cnt=10)
    await smsc.add_black("79007778899")
    after = await smsc.get_black(cnt=10)
    assert "79007778899" not in {e.phone for e in before}
    assert after[0].phone == "79007778899"
    assert len(emulator.requests) == 3


async def test_concurrent_identical_reads_share_one_request(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    emulator.latency = 0.05
    smsc = connector.client(credentials)
    results = await asyncio.gather(*(smsc.get_groups() for _ in range(20)))
    assert all(r == results[0] for r in results)
    assert len(emulator.requests) == 1


async def test_fourth_identical_write_in_a_minute_is_refused_locally(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator, clock: ManualClock
) -> None:
    smsc = connector.client(credentials)
    for _ in range(3):
        await smsc.add_black("79001230000")
    with pytest.raises(SmscError) as err:
        await smsc.add_black("79001230000")
    assert (err.value.code, err.value.local) == (9, True)
    assert len(emulator.requests) == 3
    clock.advance(61)
    await smsc.add_black("79001230000")
    assert len(emulator.requests) == 4


async def test_balance_stays_under_ten_a_minute(
    credentials: Credentials, emulator: SmscEmulator, clock: ManualClock
) -> None:
    connector = SmscConnector(SmscSettings(api_url=emulator.base_url, cache_ttl=0), clock=clock)
    try:
        smsc = connector.client(credentials)
        refused = 0
        for _ in range(12):
            try:
                await smsc.get_balance()
            except SmscError as exc:
                assert (exc.code, exc.local) == (9, True)
                refused += 1
            clock.advance(1)
        assert len(emulator.requests) == 9
        assert refused == 3
    finally:
        await connector.aclose()


async def test_known_good_credentials_have_two_calls_in_flight_under_100_concurrent_calls(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    emulator.latency = 0.02
    smsc = connector.client(credentials)
    # Distinct searches, so neither the cache nor the identical-request guard folds them.
    results = await asyncio.gather(*(smsc.get_contacts(search=f"q{i}") for i in range(100)))
    assert len(results) == 100
    assert len(emulator.requests) == 100
    # Should the password change on the site mid-burst, SMSC counts at most 2 failures.
    assert emulator.max_in_flight[LOGIN] == KNOWN_GOOD_IN_FLIGHT


async def test_cap_is_shared_by_every_client_object_of_one_login(
    connector: SmscConnector, emulator: SmscEmulator
) -> None:
    emulator.latency = 0.02
    calls = [
        connector.client(Credentials.with_password(LOGIN, PASSWORD)).get_contacts(search=f"s{i}")
        for i in range(40)
    ]
    await asyncio.gather(*calls)
    assert emulator.max_in_flight[LOGIN] == KNOWN_GOOD_IN_FLIGHT


def test_cap_of_15_or_more_is_refused() -> None:
    with pytest.raises(ValueError):
        SmscSettings(max_concurrency=15)


async def test_wrong_shape_is_bad_response(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    emulator.fault = "garbage"
    emulator.garbage_body = json.dumps([{"name": "no id here"}]).encode()
    with pytest.raises(SmscBadResponse) as err:
        await connector.client(credentials).get_groups()
    assert "shape" in err.value.reason


async def test_a_wrong_password_never_reads_the_right_passwords_cached_answer(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    await connector.client(credentials).get_balance()
    impostor = connector.client(Credentials.with_password(LOGIN, "guessing-password"))
    with pytest.raises(SmscError) as err:
        await impostor.get_balance()
    assert err.value.code == 2


async def test_rejected_credentials_are_not_sent_again(
    connector: SmscConnector, emulator: SmscEmulator, clock: ManualClock
) -> None:
    stale = Credentials.with_password(LOGIN, "changed-on-the-site")
    with pytest.raises(SmscError) as first:
        await connector.client(stale).get_balance()
    assert (first.value.code, first.value.local) == (2, False)
    # Another chat holding the same stale password: refused here, not counted by SMSC.
    with pytest.raises(SmscError) as second:
        await connector.client(stale).get_groups()
    assert (second.value.code, second.value.local) == (2, True)
    assert len(emulator.requests) == 1
    # The right password is other credentials, and goes through.
    await connector.client(Credentials.with_password(LOGIN, PASSWORD)).get_groups()
    # Never again, however long after, until someone types them in anew.
    clock.advance(31 * 60)
    with pytest.raises(SmscError) as later:
        await connector.client(stale).get_balance()
    assert (later.value.code, later.value.local) == (2, True)
    assert len(emulator.requests) == 2

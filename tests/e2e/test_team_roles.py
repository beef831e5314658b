"""No role reaches a write it is not allowed (issue 12): every button prefix the handlers register,
with forged data, and every command, sent by a viewer, an operator and someone with only the
group's role, in a private chat and in a linked group, through the real dispatcher.

SMSC's emulator records every request: a viewer's updates must cause no write at all, an
operator's none outside contacts, groups, the black list and templates; no confirmation asked by
the owner may be used, and the team must stay as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pytest
from aiogram import Router
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import COMMANDS
from bot.config import Settings
from bot.services.confirmations import ConfirmationService
from bot.smsc.emulator import SmscEmulator
from handlers import get_routers
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import examples, seed_contact, seed_group, seed_subclient
from tests.e2e.test_teams import (
    GROUP,
    WRITE_KEYS,
    ask_top_up,
    caught_up,
    in_group,
    link_group,
    team_of,
)
from tests.support.botapi import FakeTelegram, FakeUser

PHONE = "79991234567"


def callback_classes() -> dict[str, type[CallbackData]]:
    """Every CallbackData class a handler filters on, by prefix."""
    found: dict[str, type[CallbackData]] = {}

    def walk(router: Router) -> None:
        for handler in router.callback_query.handlers:
            for item in handler.filters or []:
                if isinstance(item.callback, CallbackQueryFilter):
                    cls = item.callback.callback_data
                    found[cls.__prefix__] = cls
        for sub in router.sub_routers:
            walk(sub)

    for router in get_routers():
        walk(router)
    return found


PREFIXES = callback_classes()
# Words the handlers' magic filters compare fields with, and the seeded data.
WORDS = [
    "rn",
    "ph",
    "del",
    "gr",
    "add",
    "list",
    "search",
    "t",
    "none",
    "new",
    "save",
    "skip",
    "n",
    "p",
    "o",
    "main",
    "phone",
    "login",
    "pw",
    "pay",
    "type",
    "yes",
    "no",
    "ru",
    "en",
    "smsc.ru",
    "demo",
    "sub_alex",
    "Client",
    "Friends",
]


def field_values(annotation: Any, ints: list[int], words: list[str]) -> st.SearchStrategy[Any]:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(list(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.sampled_from(ints) | st.integers(min_value=-5, max_value=10**9)
    return st.sampled_from(words) | st.text(
        st.characters(codec="ascii", exclude_characters=":"), max_size=12
    )


def forged_data(ints: list[int], words: list[str]) -> st.SearchStrategy[str]:
    @st.composite
    def build(draw: st.DrawFn) -> str:
        prefix = draw(st.sampled_from(sorted(PREFIXES)), label="prefix")
        cls = PREFIXES[prefix]
        values = [
            draw(field_values(info.annotation, ints, words), label=name)
            for name, info in cls.model_fields.items()
        ]
        parts = [prefix]
        for value in values:
            if isinstance(value, bool):
                parts.append(str(int(value)))
            elif isinstance(value, Enum):
                parts.append(str(value.value))
            else:
                parts.append(str(value))
        return ":".join(parts)[:64]

    return build()


COMMAND_TEXTS = [f"/{name}" for name, _text in COMMANDS if name != "login"] + [
    "/login",
    "/link",
    "/link admin",
    "/unlink",
    "/audit",
    "/unblack 79991234567",
    "/black 79991234567",
    "/addcontact 79990000002 Eve",
    "/start jnot-an-invitation",
]
TEXTS = ["100", "5", PHONE, "Friends", "New name", "Hello {NAME}", "yes", "0000"]


@dataclass
class Team:
    owner: FakeUser
    people: dict[str, FakeUser]
    records: list[str] = field(default_factory=list)


@pytest.fixture
async def team_bot(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings], smsc: SmscEmulator
) -> AsyncIterator[tuple[RunningBot, Team]]:
    """A team (owner, viewer, operator) with its group linked as viewer, and open questions
    the owner asked in the group: a top-up, a contact's and a member's removal, a log-out."""
    ttl = Settings.model_fields["smsc_cache_ttl"].default
    async with RunningBot(fake_telegram, make_settings(smsc_cache_ttl=ttl)) as running:
        seed_subclient(smsc.accounts[LOGIN], "sub_alex")
        seed_contact(smsc, PHONE, "Client")
        seed_group(smsc, "Friends")
        owner = fake_telegram.user(9301, "Owner")
        viewer, operator = fake_telegram.user(9302, "Vic"), fake_telegram.user(9303, "Olly")
        await team_of(fake_telegram, owner, Viewer=viewer, Operator=operator)
        owner_here = await link_group(fake_telegram, owner)
        team = Team(owner, {"viewer": viewer, "operator": operator})
        team.people["stranger"] = fake_telegram.user(9304, "Stan")
        question = await ask_top_up(owner_here, "sub_alex", "100")
        team.records.append(question.buttons[0][0].callback_data.split(":")[1])  # type: ignore[union-attr]
        caught_up(owner_here)
        await owner_here.send("/contacts")
        await owner_here.press(await owner_here.expect_message(), "Client")
        await owner_here.press(await owner_here.expect_message(), "Delete")
        # Issue 13: the question in place of the card.
        question = await owner_here.expect_edit()
        team.records.append(question.button("Yes, delete").callback_data.split(":")[1])  # type: ignore[union-attr]
        await owner_here.send("/logout")
        question = await owner_here.expect_message()
        team.records.append(question.button("Yes").callback_data.split(":")[1])  # type: ignore[union-attr]
        yield running, team


@pytest.mark.timeout(240)
@examples(120)
@given(data=st.data())
async def test_no_role_reaches_a_write_it_is_not_allowed(
    data: st.DataObject,
    team_bot: tuple[RunningBot, Team],
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
) -> None:
    running, team = team_bot
    role = data.draw(st.sampled_from(sorted(team.people)), label="role")
    person = team.people[role]
    where = "group" if role == "stranger" else data.draw(st.sampled_from(["private", "group"]))
    user = in_group(fake_telegram, person) if where == "group" else caught_up(person)
    ints = [GROUP, team.owner.id, *(p.id for p in team.people.values()), 1, 2, 3, 4]
    words = [*WORDS, PHONE, *team.records]
    forged = forged_data(ints, words)
    cf = st.builds(
        lambda r, yes: f"cf:{r}:{int(yes)}", st.sampled_from(team.records), st.booleans()
    )
    since = len(smsc.requests)
    for _ in range(data.draw(st.integers(min_value=1, max_value=5), label="actions")):
        kind = data.draw(st.sampled_from(["button", "yes", "command", "text"]), label="kind")
        if kind in ("button", "yes"):
            payload = data.draw(forged if kind == "button" else cf, label="data")
            on_screen = [m.message_id for m in user.chat.bot_messages[-4:]] or [1]
            # An index, not the ids themselves: what is on screen differs from run to run.
            index = data.draw(st.integers(min_value=0, max_value=3), label="on message")
            await user.press_data(on_screen[index % len(on_screen)], payload)
        elif kind == "command":
            await user.send(data.draw(st.sampled_from(COMMAND_TEXTS), label="command"))
        else:
            await user.send(data.draw(st.sampled_from(TEXTS), label="text"))
        await fake_telegram.drained()
    made = [
        (r.path, {k: v for k, v in r.params.items() if k in WRITE_KEYS})
        for r in smsc.requests[since:]
        if any(r.params.get(key) for key in WRITE_KEYS)
    ]
    if role == "operator":
        made = [(path, keys) for path, keys in made if path not in _OPERATOR_PATHS]
    assert made == [], f"{role} in a {where} chat made {made}"
    assert running.app is not None
    confirmations = running.app.dp["confirmations"]
    assert isinstance(confirmations, ConfirmationService)
    for record_id in team.records:
        record = await confirmations.get(record_id)
        assert record is not None and record.state == "open", (role, record)
    members = await running.app.accounts.teams.repo.memberships(team.owner.id)
    assert [m.role for m in members] == ["owner"]
    for name, other in team.people.items():
        expected = {"viewer": ["viewer"], "operator": ["operator"], "stranger": []}[name]
        assert [m.role for m in await running.app.accounts.teams.repo.memberships(other.id)] == (
            expected
        )


_OPERATOR_PATHS = frozenset({"/sys/phones.php", "/sys/templates.php"})


async def test_every_command_by_every_role_in_both_chats_writes_nothing_it_may_not(
    team_bot: tuple[RunningBot, Team], fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    running, team = team_bot
    # The operator last: what it may do (add a contact) would leave nothing to do after it.
    for role in ("stranger", "viewer", "operator"):
        person = team.people[role]
        chats = ["group"] if role == "stranger" else ["private", "group"]
        for where in chats:
            user = in_group(fake_telegram, person) if where == "group" else caught_up(person)
            since = len(smsc.requests)
            for command in COMMAND_TEXTS:
                await user.send(command)
                await fake_telegram.drained()
                await user.send("/cancel")
            made = [
                r.path
                for r in smsc.requests[since:]
                if any(r.params.get(key) for key in WRITE_KEYS)
                and not (role == "operator" and r.path in _OPERATOR_PATHS)
            ]
            assert made == [], (role, where, made)
    assert running.app is not None
    for record_id in team.records:
        record = await running.app.dp["confirmations"].get(record_id)
        assert record is not None and record.state == "open"

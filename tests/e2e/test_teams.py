"""Teams end to end (issue 12): one SMSC account, several people, each doing only what their
role allows, in private chats and in linked groups and supergroups.

The first tests are the issue's findings reversed: before teams, anyone in a group where someone
had logged in could pay, delete, log everyone out and log the group in to another account.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiosqlite
import pytest
import time_machine

from bot.app import DB_NAME
from bot.config import Settings
from bot.crypto import SecretBox
from bot.smsc.emulator import SmscEmulator
from bot.storage.db import MIGRATIONS, split_statements
from tests.conftest import LOGIN, PASSWORD
from tests.e2e.conftest import BotProcess, RunningBot
from tests.e2e.helpers import login, payments, seed_contact, seed_subclient
from tests.support.botapi import FakeTelegram, FakeUser, MessageView
from tests.support.botapi.model import CallbackAnswer

# Every key of a request that changes something on SMSC (bot/smsc/client.py).
WRITE_KEYS = frozenset(
    {
        "add",
        "chg",
        "del",
        "add_group",
        "chg_group",
        "del_group",
        "move_group",
        "add_black",
        "del_black",
        "send_code",
        "check_code",
        "pay",
    }
)
GROUP = -1002001


def writes(smsc: SmscEmulator) -> list[tuple[str, dict[str, str]]]:
    return [
        (r.path, dict(r.params))
        for r in smsc.requests
        if any(r.params.get(key) for key in WRITE_KEYS)
    ]


def in_group(telegram: FakeTelegram, user: FakeUser, **chat: object) -> FakeUser:
    """``user`` in the group ``GROUP``, expecting only what comes from now on."""
    return caught_up(telegram.in_group(user, GROUP, **chat))  # type: ignore[arg-type]


def caught_up(person: FakeUser) -> FakeUser:
    """``person`` expecting only what comes from now on (others share the group's events)."""
    now = len(person.chat.events)
    person._cursors = dict.fromkeys(("message", "edit", "callback_answer", "delete"), now)
    return person


async def answer_of(telegram: FakeTelegram, user: FakeUser, query_id: str) -> CallbackAnswer:
    await telegram.drained()
    answers = [
        e.answer
        for e in user.chat.events
        if e.kind == "callback_answer" and e.answer is not None and e.answer.query_id == query_id
    ]
    assert answers, f"query {query_id} was not answered\n{user._history()}"
    return answers[0]


async def invite(owner: FakeUser, role: str) -> str:
    """The owner's invitation link for ``role`` (a button label: Viewer, Operator, Admin)."""
    await owner.send("/team")
    team = await owner.expect_message()
    await owner.press(team, "Invite")
    await owner.press(await owner.expect_edit(), role)
    text = (await owner.expect_edit()).text or ""
    link = next(word for word in text.split() if word.startswith("https://t.me/"))
    assert "smsc_test_bot?start=" in link
    return link.split("?start=", 1)[1]


async def join(user: FakeUser, payload: str, expect: str = "You joined the team") -> str:
    await user.send(f"/start {payload}")
    text = (await user.expect_message()).text or ""
    assert expect in text, text
    return text


async def team_of(telegram: FakeTelegram, owner: FakeUser, **roles: FakeUser) -> None:
    """``owner`` logged in privately; each of ``roles`` (Viewer=..., Operator=...) joined."""
    await login(owner)
    for role, user in roles.items():
        await join(user, await invite(owner, role.split("_")[0]))


async def link_group(
    telegram: FakeTelegram, admin: FakeUser, role: str = "", **chat: object
) -> FakeUser:
    """``admin`` links the group ``GROUP`` to the team's account; returns them in the group."""
    in_group_ = in_group(telegram, admin, **chat)
    await in_group_.send(f"/link {role}".strip())
    question = await in_group_.expect_message()
    assert "Link this group" in (question.text or "")
    await in_group_.press(question, "Yes")
    assert "now works with" in ((await in_group_.expect_edit()).text or "")
    return in_group_


async def ask_top_up(user: FakeUser, login: str, amount: str) -> MessageView:
    caught_up(user)
    await user.send("/subclients")
    await user.press(await user.expect_message(), login)
    await user.press(await user.expect_edit(), "Top up")
    await user.expect_message()
    if user.chat.id < 0:
        # In a group, the step's prompt to answer with a reply.
        assert "answer with a reply" in ((await user.expect_message()).text or "")
    await user.send(amount)
    question = await user.expect_message()
    assert "from your balance to" in (question.text or ""), question.text
    return question


# ---------------------------------------------------------------- the findings, reversed


async def test_someone_without_a_role_cannot_pay_delete_log_out_or_log_in_again(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    sub = seed_subclient(smsc.accounts[LOGIN], "sub_alex")
    seed_contact(smsc, "79991234567", "Client")
    smsc.add_account("maria", "maria-Passw0rd-1")
    owner = fake_telegram.user(9001, "Anna")
    stranger = fake_telegram.user(9002, "Boris")
    await login(owner)
    owner_in_group = await link_group(fake_telegram, owner, kind="supergroup")
    b = in_group(fake_telegram, stranger)
    # The group's role (viewer) lets B read: the balance, the subclients.
    await b.send("/balance")
    assert "Balance" in ((await b.expect_message()).text or "")
    # A's own top-up question, on screen in the group: B's Yes is refused in an alert.
    question = await ask_top_up(owner_in_group, "sub_alex", "100")
    yes = question.button("Yes, top up").callback_data
    assert yes is not None
    refused = await answer_of(fake_telegram, b, await b.press_data(question.message_id, yes))
    assert refused.show_alert and "cannot do this" in (refused.text or "")
    # The card's own Top up button, on screen in the group: refused at B's tap.
    card = next(m for m in b.chat.messages if "Top up" in m.button_texts)
    query = await b.press(card, "Top up")
    refused = await answer_of(fake_telegram, b, query)
    assert refused.show_alert and "viewer" in (refused.text or "")
    # Deleting a contact.
    caught_up(b)
    await b.send("/contacts")
    contacts = await b.expect_message()
    await b.press(contacts, "Client")
    query = await b.press(await b.expect_message(), "Delete")
    assert (await answer_of(fake_telegram, b, query)).show_alert
    # /logout logs nobody out; /login with a password in the group is scrubbed, never checked.
    await b.send("/logout")
    assert "cannot do this" in ((await b.expect_message()).text or "")
    sent = await b.send("/login maria maria-Passw0rd-1")
    await b.expect_deleted(sent["message_id"])
    await fake_telegram.drained()
    assert not [r for r in smsc.requests if r.login == "maria"]
    assert payments(smsc) == [] and writes(smsc) == []
    assert sub.balance == Decimal("0")
    # A's account is still A's, in the group and in private.
    await owner.send("/team")
    assert LOGIN in ((await owner.expect_message()).text or "")


async def test_login_in_a_group_goes_on_privately_by_a_deep_link(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(9011)
    person = in_group(fake_telegram, user)
    await person.send("/login")
    answer = await person.expect_message()
    url = answer.button("Log in privately").raw.get("url")
    assert url == "https://t.me/smsc_test_bot?start=login"
    # The link opens the private chat with "/start login": the log-in's first step.
    await user.send("/start login")
    assert "Which SMSC site" in ((await user.expect_message()).text or "")
    assert smsc.requests == []


async def test_a_bot_without_delete_rights_never_takes_a_secret_in_a_group(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner = fake_telegram.user(9021)
    await login(owner)
    await link_group(fake_telegram, owner, bot_can_delete=False)
    member = in_group(fake_telegram, fake_telegram.user(9022))
    requests = len(smsc.requests)
    sent = await member.send(f"/login {LOGIN} {PASSWORD}")
    warning = await member.expect_message()
    assert "cannot delete it here" in (warning.text or "")
    assert "change the password" in (warning.text or "")
    assert fake_telegram.chats[GROUP].get(sent["message_id"]) is not None
    # The saved password typed in the group (a reply to the bot, or with privacy mode off).
    await member.send(f"our password is {PASSWORD}, do not share")
    assert "cannot delete it here" in ((await member.expect_message()).text or "")
    await fake_telegram.drained()
    assert len(smsc.requests) == requests


# ---------------------------------------------------------------- confirmations


async def test_three_members_tapping_one_top_up_pay_once_by_an_allowed_person(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    sub = seed_subclient(smsc.accounts[LOGIN], "shop")
    owner = fake_telegram.user(9031, "Owner")
    admin = fake_telegram.user(9032, "Admin")
    operator = fake_telegram.user(9033, "Operator")
    viewer = fake_telegram.user(9034, "Viewer")
    await team_of(fake_telegram, owner, Admin=admin, Operator=operator, Viewer=viewer)
    await link_group(fake_telegram, owner)
    asker = in_group(fake_telegram, admin)
    question = await ask_top_up(asker, "shop", "100")
    yes = question.button("Yes, top up").callback_data
    assert yes is not None
    tappers = [in_group(fake_telegram, p) for p in (viewer, operator, owner)]
    queries = [await p.press_data(question.message_id, yes) for p in tappers]
    await fake_telegram.drained()
    assert len(payments(smsc)) == 1
    assert sub.balance == Decimal("100.00")
    pairs = zip(tappers[:2], queries[:2], strict=True)
    refused = [await answer_of(fake_telegram, p, q) for p, q in pairs]
    assert all(a.show_alert for a in refused)
    records = bot.app.dp["confirmations"]  # type: ignore[union-attr]
    record = await records.get(yes.split(":")[1])
    assert record.used_by == owner.id and record.state == "done"


# ---------------------------------------------------------------- invitations


async def test_an_invitation_is_used_once_expires_and_can_be_revoked(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner = fake_telegram.user(9041)
    first, second = fake_telegram.user(9042), fake_telegram.user(9043)
    await login(owner)
    payload = await invite(owner, "Operator")
    await join(first, payload)
    await join(second, payload, expect="already used")
    await second.send("/balance")
    assert "not logged in" in ((await second.expect_message()).text or "")
    # Expiry: 24 hours, by the clock.
    payload = await invite(owner, "Viewer")
    with time_machine.travel(timedelta(hours=24, seconds=1)):
        await join(second, payload, expect="expired")
    # Revocation: the team's list shows the open invitation with a Revoke button.
    payload = await invite(owner, "Admin")
    await owner.send("/team")
    await owner.press(await owner.expect_message(), "Revoke: admin")
    assert "revoked" in ((await owner.expect_edit()).text or "")
    await join(second, payload, expect="revoked")
    assert writes(smsc) == []


async def test_a_removed_member_loses_access_at_once_even_through_buttons_on_screen(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_contact(smsc, "79991234567", "Client")
    owner, member = fake_telegram.user(9051, "Owner"), fake_telegram.user(9052, "Mike")
    await team_of(fake_telegram, owner, Operator=member)
    await member.send("/contacts")
    await member.press(await member.expect_message(), "Client")
    card = await member.expect_message()
    assert "Delete" in card.button_texts
    # The owner removes Mike: confirmed.
    await owner.send("/team")
    await owner.press(await owner.expect_message(), "Mike")
    await owner.press(await owner.expect_edit(), "Remove from team")
    await owner.press(await owner.expect_edit(), "Yes")
    assert "Removed" in ((await owner.expect_edit()).text or "")
    await member.press(card, "Delete")
    assert "not logged in" in ((await member.expect_message()).text or "")
    await fake_telegram.drained()
    assert writes(smsc) == []


async def test_a_members_logout_is_leaving_and_the_owners_disconnect_counts_who_loses_access(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner, member, other = (fake_telegram.user(n) for n in (9061, 9062, 9063))
    await team_of(fake_telegram, owner, Viewer=member, Operator_2=other)
    await member.send("/logout")
    await member.press(await member.expect_message(), "Yes")
    assert "You left the team" in ((await member.expect_edit()).text or "")
    await owner.send("/balance")
    assert "Balance" in ((await owner.expect_message()).text or "")
    await owner.send("/logout")
    question = await owner.expect_message()
    assert "1 other member of the team loses access too" in (question.text or "")
    await owner.press(question, "Yes")
    assert "Logged out" in ((await owner.expect_edit()).text or "")
    await other.send("/balance")
    assert "not logged in" in ((await other.expect_message()).text or "")


async def test_a_password_changed_on_smsc_is_re_entered_by_the_owner_members_are_told(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner, member = fake_telegram.user(9071), fake_telegram.user(9072)
    await team_of(fake_telegram, owner, Operator=member)
    smsc.accounts[LOGIN].password = "Changed-on-site-1"
    since = len(smsc.requests)
    await member.send("/balance")
    assert "needs attention" in ((await member.expect_message()).text or "")
    await member.send("/balance")
    assert "needs attention" in ((await member.expect_message()).text or "")
    # One refusal from SMSC, then the saved password is not sent again for anyone.
    assert len(smsc.requests) - since == 1
    await owner.send("/login")
    assert "Which SMSC site" in ((await owner.expect_message()).text or "")
    await owner.send("/cancel")
    await owner.expect_message()
    await login(owner, "Changed-on-site-1")
    await member.send("/balance")
    assert "Balance" in ((await member.expect_message()).text or "")


async def test_audit_names_who_and_where_for_admins_only(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner, viewer = fake_telegram.user(9081, "Olga"), fake_telegram.user(9082, "Vera")
    await team_of(fake_telegram, owner, Viewer=viewer)
    await viewer.send("/audit")
    assert "cannot do this" in ((await viewer.expect_message()).text or "")
    await owner.send("/audit")
    shown = await owner.expect_message()
    text = shown.text or ""
    assert "Olga" in text and "team invite" in text and "Vera" in text and "team join" in text
    assert "⬅ Menu" in shown.button_texts


# ---------------------------------------------------------------- restarts


async def test_teams_roles_and_links_survive_a_restart(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner, member = fake_telegram.user(9091), fake_telegram.user(9092)
    await team_of(fake_telegram, owner, Operator=member)
    await link_group(fake_telegram, owner)
    await bot.restart()
    await member.send("/team")
    assert "Your role: operator" in ((await member.expect_message()).text or "")
    stranger = in_group(fake_telegram, fake_telegram.user(9093))
    await stranger.send("/team")
    assert "Your role: viewer" in ((await stranger.expect_message()).text or "")


async def test_teams_survive_sigkill(bot_process: BotProcess, fake_telegram: FakeTelegram) -> None:
    await bot_process.start()
    owner, member = fake_telegram.user(9101), fake_telegram.user(9102)
    await team_of(fake_telegram, owner, Admin=member)
    assert await bot_process.kill(signal.SIGKILL) == -signal.SIGKILL
    await bot_process.start()
    await member.send("/team")
    assert "Your role: admin" in ((await member.expect_message()).text or "")


# ---------------------------------------------------------------- migration


async def v5_database(path: Path, box: SecretBox) -> None:
    """A database as the release before teams left it: its schema, rows as its code wrote them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        before = next(n for n, script in enumerate(MIGRATIONS) if "accounts_v5" in script)
        for script in MIGRATIONS[:before]:
            for statement in split_statements(script):
                await conn.execute(statement)
        await conn.execute(f"PRAGMA user_version = {before}")
        for chat_id in (PRIVATE, OLD_GROUP, ORPHAN_GROUP):
            await conn.execute(
                "INSERT INTO accounts (chat_id, site, login, auth_kind, secret, verified_at,"
                " needs_relogin) VALUES (?, 'smsc.ru', ?, 'password', ?,"
                " '2026-11-30T10:00:00.000Z', 0)",
                (chat_id, LOGIN, box.encrypt(PASSWORD, chat_id=chat_id)),
            )
        await conn.execute(
            "INSERT INTO subclients (chat_id, login) VALUES (?, 'made_here')", (PRIVATE,)
        )
        # Who logged the group in: the audit log of that release names the user.
        for user_id, result in ((GROUP_OWNER, "smsc error 2"), (GROUP_OWNER + 1, "ok")):
            await conn.execute(
                "INSERT INTO audit_log (chat_id, user_id, action, target, result)"
                " VALUES (?, ?, 'login', 'smsc.ru:password', ?)",
                (OLD_GROUP, user_id, result),
            )
        await conn.execute(
            "INSERT INTO audit_log (chat_id, user_id, action, target, result)"
            " VALUES (?, ?, 'login', 'smsc.ru:alice', 'ok')",
            (OLD_GROUP, GROUP_OWNER),
        )


PRIVATE, OLD_GROUP, ORPHAN_GROUP, GROUP_OWNER = 7001, -1007001, -1007002, 7002


@pytest.mark.sqlite_only
async def test_a_database_of_the_release_before_teams_opens_and_works(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings], secret_key: str
) -> None:
    settings = make_settings()
    await v5_database(settings.data_dir / DB_NAME, SecretBox([secret_key]))
    running = RunningBot(fake_telegram, settings)
    await running.start()
    try:
        # A private log-in: a team of one, owned by its user; the old secret still decrypts.
        private = fake_telegram.user(PRIVATE)
        await private.send("/team")
        assert "Your role: owner" in ((await private.expect_message()).text or "")
        await private.send("/subclients")
        assert "made_here — created here" in ((await private.expect_message()).text or "")
        # A group log-in: the user who logged in owns it, in the group and in private.
        owner = fake_telegram.user(GROUP_OWNER)
        owner_in_group = caught_up(fake_telegram.in_group(owner, OLD_GROUP))
        await owner_in_group.send("/team")
        assert "Your role: owner" in ((await owner_in_group.expect_message()).text or "")
        await owner_in_group.send("/balance")
        assert "Balance" in ((await owner_in_group.expect_message()).text or "")
        await owner.send("/team")
        assert "Your role: owner" in ((await owner.expect_message()).text or "")
        # The group's other members are viewers; so are those of a group nobody is known for.
        for group in (OLD_GROUP, ORPHAN_GROUP):
            other = caught_up(fake_telegram.in_group(fake_telegram.user(7010), group))
            await other.send("/team")
            assert "Your role: viewer" in ((await other.expect_message()).text or "")
        # Nobody is known for the other group: its creator, as Telegram says, takes it over.
        creator = fake_telegram.user(7020)

        def member(params: dict[str, object]) -> dict[str, object]:
            user = {"id": int(str(params["user_id"])), "is_bot": False, "first_name": "X"}
            if user["id"] == creator.id:
                return {"status": "creator", "user": user, "is_anonymous": False}
            return {"status": "member", "user": user}

        fake_telegram.stub("getChatMember", member)
        creator_here = caught_up(fake_telegram.in_group(creator, ORPHAN_GROUP))
        await creator_here.send("/team")
        assert "Your role: owner" in ((await creator_here.expect_message()).text or "")
        other = caught_up(fake_telegram.in_group(fake_telegram.user(7010), ORPHAN_GROUP))
        await other.send("/team")
        assert "Your role: viewer" in ((await other.expect_message()).text or "")
    finally:
        await running.stop()


async def test_a_typing_step_in_a_group_asks_for_a_reply_from_that_person_only(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_contact(smsc, "79991234567", "Client")
    owner, operator = fake_telegram.user(9111), fake_telegram.user(9112, "Olly")
    await team_of(fake_telegram, owner, Operator=operator)
    await link_group(fake_telegram, owner)
    person = in_group(fake_telegram, operator)
    await person.send("/contacts")
    await person.press(await person.expect_message(), "Client")
    await person.press(await person.expect_message(), "Rename")
    await person.expect_message()
    prompt = await person.expect_message()
    assert "answer with a reply to this message" in (prompt.text or "")
    markup = fake_telegram.requests_for("sendMessage")[-1].params["reply_markup"]
    assert markup == {"force_reply": True, "selective": True}
    assert (
        f"tg://user?id={operator.id}"
        in fake_telegram.requests_for("sendMessage")[-1].params["text"]
    )
    await person.send("Best client")
    await fake_telegram.drained()
    assert any(r.params.get("name") == "Best client" for r in smsc.requests)


async def test_the_owner_hands_the_account_over(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner, admin = fake_telegram.user(9121, "Olga"), fake_telegram.user(9122, "Adam")
    await team_of(fake_telegram, owner, Admin=admin)
    # An admin sees no such button, and a forged one is refused.
    await admin.send("/team")
    team = await admin.expect_message()
    assert "Make owner" not in str(team.button_texts)
    query = await admin.press_data(team.message_id, f"tmo:{admin.id}")
    assert (await answer_of(fake_telegram, admin, query)).show_alert
    await owner.send("/team")
    await owner.press(await owner.expect_message(), "Adam")
    await owner.press(await owner.expect_edit(), "Make owner")
    await owner.press(await owner.expect_edit(), "Yes")
    assert "new owner" in ((await owner.expect_edit()).text or "")
    await admin.send("/team")
    assert "Your role: owner" in ((await admin.expect_message()).text or "")
    await owner.send("/team")
    assert "Your role: admin" in ((await owner.expect_message()).text or "")


async def test_a_members_own_log_in_never_changes_the_teams_account_and_they_switch_back(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    register_secret: Callable[..., None],
) -> None:
    register_secret("Maria-Passw0rd-1")
    smsc.add_account("maria", "Maria-Passw0rd-1")
    owner, member = fake_telegram.user(9131, "Anna"), fake_telegram.user(9132, "Boris")
    await team_of(fake_telegram, owner, Admin=member)
    sent = await member.send("/login maria Maria-Passw0rd-1")
    await member.expect_deleted(sent["message_id"])
    assert "maria" in ((await member.expect_message()).text or "")
    # A's account is A's: the member's log-in made an account of his own.
    await owner.send("/team")
    assert "Team of alice" in ((await owner.expect_message()).text or "")
    await owner.send("/addcontact 79990000001 Eve")
    await owner.expect_message()
    await fake_telegram.drained()
    assert [r.login for r in smsc.requests if r.params.get("add") == "1"] == [LOGIN]
    # The member goes back to the team's account from /team.
    await member.send("/team")
    mine = await member.expect_message()
    assert "Team of maria" in (mine.text or "") and "Your role: owner" in (mine.text or "")
    await member.press(mine, "Switch to alice")
    assert "Your role: admin" in ((await member.expect_edit()).text or "")


async def test_a_group_the_bot_is_removed_from_is_unlinked(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner = fake_telegram.user(9141)
    await login(owner)
    await link_group(fake_telegram, owner)
    me = fake_telegram.bot_user
    fake_telegram.queue_update(
        "my_chat_member",
        {
            "chat": fake_telegram.chats[GROUP].json,
            "from": owner.json,
            "date": 0,
            "old_chat_member": {"status": "member", "user": me},
            "new_chat_member": {"status": "kicked", "user": me, "until_date": 0},
        },
        chat_id=GROUP,
    )
    await fake_telegram.drained()
    assert bot.app is not None
    assert await bot.app.accounts.teams.repo.link_of(GROUP) is None
    # The owner's own chat keeps the account.
    assert await bot.app.accounts.repo.get(owner.id) is not None


async def test_every_team_question_answered_no_changes_nothing_and_yes_changes_the_role(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """A role, a removal, ownership, leaving (from /team and /logout), linking a group and
    logging out, each answered No, leave the team as it was; a role answered Yes changes."""
    owner, member = fake_telegram.user(9151, "Olga"), fake_telegram.user(9152, "Mike")
    await team_of(fake_telegram, owner, Viewer=member)
    for label in ("Operator", "Remove from team", "Make owner"):
        await owner.send("/team")
        await owner.press(await owner.expect_message(), "Mike")
        await owner.press(await owner.expect_edit(), label)
        await owner.press(await owner.expect_edit(), "No")
        assert (await owner.expect_edit()).text == "Nothing was changed."
    await member.send("/team")
    await member.press(await member.expect_message(), "Leave the team")
    question = await member.expect_message()
    assert question.text == "Leave the team of alice? You lose access to it."
    await member.press(question, "No")
    assert (await member.expect_edit()).text == "You stay in the team."
    await member.send("/logout")
    await member.press(await member.expect_message(), "No")
    assert (await member.expect_edit()).text == "You stay in the team."
    await owner.send("/logout")
    await owner.press(await owner.expect_message(), "No")
    assert (await owner.expect_edit()).text == "You stay logged in."
    in_group_ = in_group(fake_telegram, owner)
    await in_group_.send("/link")
    await in_group_.press(await in_group_.expect_message(), "No")
    assert (await in_group_.expect_edit()).text == "The group was not linked."
    await member.send("/team")
    assert "Your role: viewer" in ((await member.expect_message()).text or "")
    await owner.send("/team")
    await owner.press(await owner.expect_message(), "Mike")
    await owner.press(await owner.expect_edit(), "Operator")
    question = await owner.expect_edit()
    assert question.text == "Change the role of Mike to operator?"
    await owner.press(question, "Yes")
    done = await owner.expect_edit()
    assert done.text == "The role is now operator." and done.button_texts == ["Back"]
    await member.send("/team")
    assert "Your role: operator" in ((await member.expect_message()).text or "")
    assert bot.app is not None
    assert await bot.app.accounts.teams.repo.link_of(GROUP) is None


async def test_the_team_screen_cuts_long_names_with_an_ellipsis_and_always_leads_home(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    """A member's button shows a long name cut with "…" (not silently), and the team screen
    has "⬅ Menu" however it is reached: home, /team, back from a member's card."""
    owner = fake_telegram.user(5301)
    long_name = "Константин Константинопольский-Младший"
    colleague = fake_telegram.user(5302, long_name)
    await team_of(fake_telegram, owner, Viewer=colleague)
    caught_up(owner)
    await owner.send("/team")
    team = await owner.expect_message()
    [label] = [b for b in team.button_texts if b.startswith("Константин")]
    assert label.endswith("…") and len(label) <= 24 and long_name.startswith(label[:-1])
    assert "⬅ Menu" in team.button_texts
    await owner.press(team, label)
    card = await owner.expect_edit()
    await owner.press(card, "Back")
    back = await owner.expect_edit()
    assert label in back.button_texts and "⬅ Menu" in back.button_texts


async def test_the_saved_password_typed_in_a_linked_group_is_deleted(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Issue 12: a group message that carries the secret is deleted where the bot can delete,
    with a word to change it; nothing goes to SMSC."""
    owner = fake_telegram.user(5311)
    await login(owner)
    await link_group(fake_telegram, owner)
    member = in_group(fake_telegram, fake_telegram.user(5312))
    requests = len(smsc.requests)
    sent = await member.send(f"пароль от смс: {PASSWORD}")
    await member.expect_deleted(sent["message_id"])
    assert "change" in ((await member.expect_message()).text or "")
    await fake_telegram.drained()
    assert len(smsc.requests) == requests


async def test_an_admin_adds_the_bot_to_a_group_by_a_link_and_the_group_is_linked(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    owner = fake_telegram.user(9151)
    colleague = fake_telegram.user(9152)
    stranger = fake_telegram.user(9153)
    await login(owner)
    await owner.send("/team")
    await owner.press(await owner.expect_message(), "Add to a group")
    screen = await owner.expect_edit()
    # Telegram's group picker, asking for the right to delete (a secret typed there).
    assert screen.button("Operator").url == (
        "https://t.me/smsc_test_bot?startgroup=link_operator&admin=delete_messages"
    )
    assert "Back" in screen.button_texts
    # /link sent privately opens the same picker.
    await owner.send("/link")
    assert (await owner.expect_message()).button("Admin").url == (
        "https://t.me/smsc_test_bot?startgroup=link_admin&admin=delete_messages"
    )

    # Someone who is no owner or admin of an account opens the same link: nothing is linked.
    await in_group(fake_telegram, stranger).send("/start@smsc_test_bot link_operator")
    await fake_telegram.drained()
    assert bot.app is not None
    assert await bot.app.accounts.teams.repo.link_of(GROUP) is None

    # Telegram adds the bot and sends, from whoever added it, /start with the link's payload.
    here = in_group(fake_telegram, owner)
    await here.send("/start@smsc_test_bot link_operator")
    assert "its members act as operator" in ((await here.expect_message()).text or "")
    # A member of the group without a team role of their own now blocks numbers there.
    member = in_group(fake_telegram, colleague)
    await member.send("/black +79161234567")
    await member.expect_message()
    assert any(r.params.get("add_black") == "1" for r in smsc.requests)

"""Button data and conversation states as they are stored in the wild: messages already sent carry
the packed strings, FSM rows the state names, so both must read exactly as they did."""

from __future__ import annotations

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import StatesGroup

import handlers.account.data as account
import handlers.blacklist.data as blacklist
import handlers.common as common
import handlers.contacts.data as contacts
import handlers.groups as groups
import handlers.senders.data as senders
import handlers.stats.data as stats
import handlers.subclients.data as subclients
import handlers.templates.data as templates

# Each button as some message in a chat holds it: the prefix, then the fields in their order.
PACKED: list[tuple[CallbackData, str]] = [
    (common.BlAdd(p="p3"), "bla:p3"),
    (common.CtPage(d="d4", at=5, g=6, q="q7"), "ctp:d4:5:6:q7"),
    (common.CtPage(d="d4", at=5), "ctp:d4:5:0:"),
    (common.CtCard(p="p8"), "ctc:p8"),
    (common.CtNew(p="p9"), "ctn:p9"),
    (common.Menu(action="action10"), "m:action10"),
    (common.Nc(a="a11", p="p12", t=13), "nc:a11:p12:13"),
    (common.Nc(a="a11", p="p12"), "nc:a11:p12:0"),
    (common.HiPage(p="p14"), "hip:p14"),
    (groups.GrPage(o=15), "grp:15"),
    (groups.GrOpen(g=16), "gro:16"),
    (groups.GrAct(a="a17", g=18), "gra:a17:18"),
    (groups.GrNew(), "grn"),
    (account.LoginSite(site="site19"), "ls:site19"),
    (account.LoginMethod(apikey=True), "lm:1"),
    (account.TmMember(user=20), "tmm:20"),
    (account.TmRole(user=21, role=22), "tmr:21:22"),
    (account.TmRemove(user=23), "tmx:23"),
    (account.TmInvite(role=24), "tmi:24"),
    (account.TmRevoke(id=25), "tmv:25"),
    (account.TmOwner(user=26), "tmo:26"),
    (account.TmSwitch(account=27), "tms:27"),
    (account.TmLeave(), "tml"),
    (account.TmList(), "tmb"),
    (account.TmGroup(), "tmg"),
    (account.AuPage(before=28), "au:28"),
    (contacts.CtAct(a="a29", p="p30"), "cta:a29:p30"),
    (contacts.CtGrp(p="p31", g=32, m=33), "ctg:p31:32:33"),
    (contacts.CtGrpView(p="p34", move=True), "ctv:p34:1"),
    (contacts.CtWiz(a="a35", g=36), "ctw:a35:36"),
    (contacts.CtWiz(a="a35"), "ctw:a35:0"),
    (contacts.CtMenu(a="a37"), "ctm:a37"),
    (blacklist.BlType(p="p38", t=39, n=True), "blt:p38:39:1"),
    (blacklist.BlUndo(p="p40"), "blu:p40"),
    (blacklist.BlDel(p="p41"), "bld:p41"),
    (blacklist.BlPage(d="d42", at=43, q="q44"), "blp:d42:43:q44"),
    (blacklist.BlPage(d="d42", at=43), "blp:d42:43:"),
    (blacklist.BlMenu(a="a45"), "blm:a45"),
    (senders.SnList(page=46), "snl:46"),
    (senders.SnList(), "snl:0"),
    (senders.SnCard(id=47), "snc:47"),
    (senders.SnAct(action=senders.SnAction.ENTER, id=48, name="name49"), "sna:enter:48:name49"),
    (senders.SnAct(action=senders.SnAction.ENTER), "sna:enter:0:"),
    (templates.TpList(page=50), "tpl:50"),
    (templates.TpList(), "tpl:0"),
    (templates.TpCard(id=51), "tpc:51"),
    (templates.TpAct(action=templates.TpAction.DELETE, id=52), "tpa:del:52"),
    (templates.TpAct(action=templates.TpAction.DELETE), "tpa:del:0"),
    (templates.TpFormat(format="format53"), "tpf:format53"),
    (templates.TpSender(id=54), "tps:54"),
    (templates.TpSign(yes=True), "tpg:1"),
    (subclients.ScList(page=55), "scl:55"),
    (subclients.ScList(), "scl:0"),
    (subclients.ScCard(ref="ref56"), "scc:ref56"),
    (subclients.ScAct(action=subclients.ScAction.LOGIN, ref="ref57"), "sca:login:ref57"),
    (subclients.ScAct(action=subclients.ScAction.LOGIN), "sca:login:"),
    (subclients.ScType(type=58, ref="ref59"), "sct:58:ref59"),
    (subclients.ScType(type=58), "sct:58:"),
    (subclients.ScCheck(ref="ref60"), "scx:ref60"),
    (subclients.ScNew(step="step61", value="value62"), "scn:step61:value62"),
    (subclients.ScNew(step="step61"), "scn:step61:"),
    (stats.StPick(preset="preset63", ref="ref64"), "stp:preset63:ref64"),
    (stats.StPick(preset="preset63"), "stp:preset63:"),
    (stats.StShow(s=65, e=66), "sts:65:66"),
    (stats.StOps(s=67, e=68, ref="ref69", r=70), "sto:67:68:ref69:70"),
    (stats.StOps(s=67, e=68, ref="ref69"), "sto:67:68:ref69:-1"),
    (stats.StTrend(sp="sp71"), "stt:sp71"),
    (stats.StChart(k="k72", s=73, e=74), "stc:k72:73:74"),
    (stats.StExport(f="f75", s=76, e=77), "stx:f75:76:77"),
    (stats.HiMore(p="p78", b=79), "him:p78:79"),
    (stats.HiMore(p="p78"), "him:p78:0"),
]

# Each conversation state as an FSM row names it: the group's class name, then the state's.
STATES: list[tuple[type[StatesGroup], list[str]]] = [
    (groups.GroupEdit, ["GroupEdit:new", "GroupEdit:rename"]),
    (
        account.LoginForm,
        ["LoginForm:site", "LoginForm:method", "LoginForm:login", "LoginForm:secret"],
    ),
    (
        contacts.AddContact,
        ["AddContact:phone", "AddContact:name", "AddContact:groups", "AddContact:new_group"],
    ),
    (contacts.EditContact, ["EditContact:name", "EditContact:phone"]),
    (contacts.ContactSearch, ["ContactSearch:query"]),
    (blacklist.BlackAdd, ["BlackAdd:numbers"]),
    (blacklist.BlackSearch, ["BlackSearch:query"]),
    (blacklist.BlackRemove, ["BlackRemove:number"]),
    (senders.SenderForm, ["SenderForm:name", "SenderForm:comment"]),
    (senders.SenderComment, ["SenderComment:text"]),
    (senders.SenderCode, ["SenderCode:code"]),
    (
        templates.TemplateForm,
        [
            "TemplateForm:name",
            "TemplateForm:text",
            "TemplateForm:format",
            "TemplateForm:sender",
            "TemplateForm:autosign",
        ],
    ),
    (templates.TemplateEdit, ["TemplateEdit:name", "TemplateEdit:text"]),
    (
        subclients.SubclientForm,
        [
            "SubclientForm:login",
            "SubclientForm:phone",
            "SubclientForm:type",
            "SubclientForm:main_senders",
            "SubclientForm:password",
        ],
    ),
    (
        subclients.SubclientEdit,
        ["SubclientEdit:password", "SubclientEdit:login", "SubclientEdit:amount"],
    ),
    (stats.StatsForm, ["StatsForm:period"]),
]


@pytest.mark.parametrize(("button", "packed"), PACKED, ids=[p for _, p in PACKED])
def test_button_packs_and_unpacks_as_before(button: CallbackData, packed: str) -> None:
    assert button.pack() == packed
    assert type(button).unpack(packed) == button


@pytest.mark.parametrize(("group", "names"), STATES, ids=[g.__name__ for g, _ in STATES])
def test_states_keep_their_stored_names(group: type[StatesGroup], names: list[str]) -> None:
    assert [state.state for state in group.__all_states__] == names

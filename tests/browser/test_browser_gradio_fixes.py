"""Each fix to Gradio's browser code (crpm/ui/assetpatch.py) answers as Gradio's own function
does, run side by side in Chromium on the admin's real page, and the page runs the fixed code."""

from __future__ import annotations

import json

import pytest

from crpm.ui.assetpatch import ASSETS, FIXES
from tests.support import BROWSER_ADMIN

pytestmark = pytest.mark.browser


# What follows set_event_args' fixed opening in Gradio's Blocks script, to run it whole.
SET_EVENT_ARGS_REST = (
    "if(!r)return()=>{};for(let[e]of Object.entries(t))n[e]=r?.[e]??null;"
    "return Object.keys(t).length===0?()=>{}:(await this.update_state_cb(e,t,!1),"
    "()=>{this.update_state_cb(e,n,!1)})}"
)


def fix_for(name: str):
    return next(fix for fix in FIXES if name in fix.old[:30])


def sources(fix, rest: str = "") -> tuple[str, str]:
    """Gradio's function and the fixed one, as JavaScript string literals."""
    return json.dumps(fix.old + rest), json.dumps(fix.new + rest)


ATTACHED_EVENTS = """() => {
    const gradio = ({%s}), fixed = ({%s});
    const events = gradio_config.dependencies;
    const attached = (finder, id) =>
        finder.find_attached_events({id, props: {shared_props: {}}}, events)
            .props.shared_props.attached_events;
    const differ = gradio_config.components.filter(
        ({id}) => JSON.stringify(attached(gradio, id)) !== JSON.stringify(attached(fixed, id)));
    const withEvents = gradio_config.components.filter(({id}) => attached(fixed, id).length);
    return [differ.length, withEvents.length, gradio_config.components.length];
}"""

STATE = """async () => {
    function Z(e,t){if(e.id===t)return e;
        if(e.children)for(let n of e.children){let e=Z(n,t);if(e)return e}return null}
    const tree = {id: 0, children: [{id: 1, props: {props: {value: "in the tree"}}, children: []}]};
    const make = body => eval(`(class { #s = new Map([[2, async () => ({value: "mounted"})]]);
        root = tree; async ${body} })`);
    const [Gradio, Fixed] = [make(%s), make(%s)];
    const answers = async states => Promise.all([1, 2, 3].map(id => states.get_state(id)));
    return [await answers(new Gradio()), await answers(new Fixed())];
}"""

EVENT_ARGS = """async () => {
    const run = async (body, args) => {
        const calls = [];
        const blocks = eval(`({ ${body} })`);
        blocks.get_state_cb = async id => (calls.push(["read", id]), {value: 1, open: true});
        blocks.update_state_cb = async (id, state) => calls.push(["update", id, state]);
        const undo = await blocks.set_event_args(7, args);
        undo();
        return calls;
    };
    const each = async body => [await run(body, {}), await run(body, {open: false})];
    return [await each(%s), await each(%s)];
}"""


@pytest.fixture
def admin_page(open_page):
    return open_page(BROWSER_ADMIN)


def test_the_page_runs_the_fixed_scripts(admin_page):
    for fix in FIXES:
        text = admin_page.evaluate(f"async () => (await fetch('assets/{fix.file}')).text()")
        assert fix.new in text and fix.old not in text, fix.why


def test_attached_events_are_the_same_for_every_component_of_the_admins_page(admin_page):
    fix = fix_for("find_attached_events")
    differ, with_events, components = admin_page.evaluate(ATTACHED_EVENTS % (fix.old, fix.new))
    assert components > 500 and with_events > 100
    assert differ == 0


def test_a_components_state_is_the_same_mounted_in_the_tree_or_missing(admin_page):
    fix = fix_for("get_state")
    gradio, fixed = admin_page.evaluate(STATE % sources(fix))
    assert gradio == [{"value": "in the tree"}, {"value": "mounted"}, None]
    assert fixed == gradio


def test_event_arguments_are_set_and_undone_alike_and_none_read_nothing(admin_page):
    fix = fix_for("set_event_args")
    original = (ASSETS / fix.file).read_text("utf-8")
    assert original.count(fix.old + SET_EVENT_ARGS_REST) == 1
    gradio, fixed = admin_page.evaluate(EVENT_ARGS % sources(fix, SET_EVENT_ARGS_REST))
    assert gradio[0] == [["read", 7]] and fixed[0] == []
    assert (
        gradio[1]
        == fixed[1]
        == [
            ["read", 7],
            ["update", 7, {"open": False}],
            ["update", 7, {"open": True}],
        ]
    )

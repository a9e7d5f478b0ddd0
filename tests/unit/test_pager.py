"""A paged list's fetches: the page's own fetch says which ask it answered, and a change that
draws the list in its own event says whether its list can be the last word."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from crpm.ui.common import IN_TRIP, Pager  # noqa: E402

REQUEST = object()


def wired_pager():
    """A pager over a list that answers with the search and page it was given."""
    calls = []

    def show(search, page, size, request: gr.Request):
        calls.append((search, page, size, request))
        return f"rows for {search}", f"page {page}", page

    with gr.Blocks() as demo:
        search = gr.Textbox()
        pager = Pager.build("Things", [], "thing", "things-table")
        pager.wire(show, [search], [search.submit], "list_things")
    in_page = next(f.fn for f in demo.fns.values() if f.name == "show_in_page")
    return pager, in_page, calls


def test_the_pages_fetch_answers_the_list_and_the_ask_it_served():
    pager, in_page, calls = wired_pager()
    assert in_page("tea", 2, 25, 7, REQUEST) == ("rows for tea", "page 2", 2, 7)
    assert calls == [("tea", 2, 25, REQUEST)]


def test_a_changes_own_list_is_the_last_word_only_when_no_fetch_was_pending():
    pager, _, calls = wired_pager()
    redraw = pager.in_trip["fn"]
    assert pager.in_trip["inputs"][-2:] == [pager.asked, pager.drawn]
    assert pager.in_trip["outputs"][-1] is pager.drawn
    # the list shown answered the last ask (a fetch's, or an earlier change's own list once
    # `checked` took it as the last word)
    assert redraw("tea", 1, 25, 4, 4, request=REQUEST)[-1] == 4 + IN_TRIP
    # ask 4 still on its way (the list shows ask 3's answer), or an earlier change's own list
    # whose mark was never taken: not the last word
    assert redraw("tea", 1, 25, 4, 3, request=REQUEST)[-1] == -1
    assert redraw("tea", 1, 25, 4, -1, request=REQUEST)[-1] == -1
    assert redraw("tea", 1, 25, 4, 4 + IN_TRIP, request=REQUEST)[-1] == -1
    assert calls[0] == ("tea", 1, 25, REQUEST)


def test_after_a_changes_own_list_the_page_asks_again_unless_it_was_the_last_word():
    pager, _, _ = wired_pager()
    check = pager.checked["js"]
    assert pager.checked["fn"] is None  # the browser decides; no round trip
    assert pager.checked["inputs"] == [pager.drawn, pager.asked]
    # taken as the last word, the mark is used up: a later change whose redraw fails (and so
    # writes no mark) is not mistaken for one that drew the list
    assert pager.checked["outputs"] == [pager.asked, pager.drawn]
    assert f"d === n + {IN_TRIP} ? [n, n] :" in check

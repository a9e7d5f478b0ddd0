"""one_trip: a click's change and the redraws it calls for, run as one event's handler."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import pytest  # noqa: E402

from crpm.errors import ValidationError  # noqa: E402
from crpm.ui import common  # noqa: E402
from crpm.ui.common import GENERIC_ERROR, REDRAW_FAILED, guarded, one_trip  # noqa: E402


def trip_of(redraw):
    """The handler one_trip wires to a button, for a change that saves and `redraw`."""
    with gr.Blocks() as demo:
        name, saved, shown = gr.Textbox(), gr.Textbox(), gr.Textbox()
        button = gr.Button()
        one_trip(
            button.click,
            dict(fn=guarded(lambda text: f"saved {text}"), inputs=name, outputs=saved),
            dict(fn=guarded(redraw), inputs=saved, outputs=shown),
        )
    return next(f.fn for f in demo.fns.values() if f.name.endswith("_in_one_trip"))


@pytest.fixture
def toasts(monkeypatch):
    told: list[str] = []
    monkeypatch.setattr(common, "warning", lambda message, **options: told.append(message))
    return told


def test_a_redraw_runs_on_what_the_change_answered(toasts):
    assert trip_of(lambda saved: saved.upper())("ann", None) == ("saved ann", "SAVED ANN")
    assert toasts == []


def test_a_redraw_that_crashes_says_the_change_was_made_and_leaves_its_view(toasts):
    def crash(saved):
        raise RuntimeError("the view broke")

    saved, shown = trip_of(crash)("ann", None)
    assert saved == "saved ann"
    assert shown == gr.skip()
    assert toasts == [REDRAW_FAILED] and GENERIC_ERROR not in toasts


def test_a_refused_redraw_is_told_once(toasts):
    def refuse(saved):
        raise ValidationError("name", "is gone")

    trip_of(refuse)("ann", None)
    assert len(toasts) == 1 and REDRAW_FAILED not in toasts


def test_a_reset_update_is_read_as_its_value_and_drawn_afresh_each_time(toasts):
    """A dropdown emptied with its choices: the redraw reads its value; Gradio consumes the
    update it draws (it takes the value out), so every click gets its own."""
    with gr.Blocks() as demo:
        name, saved, picked, shown = gr.Textbox(), gr.Textbox(), gr.Dropdown(), gr.Textbox()
        button = gr.Button()
        one_trip(
            button.click,
            dict(fn=guarded(lambda text: f"saved {text}"), inputs=name, outputs=saved),
            dict(fn=guarded(lambda choice: f"picked {choice}"), inputs=picked, outputs=shown),
            resets={picked: gr.update(choices=[], value=None)},
        )
    trip = next(f.fn for f in demo.fns.values() if f.name.endswith("_in_one_trip"))
    for _ in range(2):
        saved_text, emptied, drawn = trip("ann", None)
        assert drawn == "picked None" and saved_text == "saved ann"
        assert emptied == {"__type__": "update", "choices": [], "value": None}
        emptied.pop("value")  # as Gradio does when it draws it

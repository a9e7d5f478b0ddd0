"""Ask before a destructive action: the one mechanism every tab uses.

`ask_first(button, describe, inputs, confirm_label)` lays out, where it is called, a hidden
panel (elem_id "confirm-<action>", from `describe`'s name "describe_<action>"): a sentence and
two buttons, the confirming one styled as dangerous and one to back out. An action that is
consequential but wanted (a customer accepting a quote: they buy) passes variant="primary": the
same question, the confirming button and the panel in the page's ordinary colours.
A click on `button` runs `describe(*inputs)` (a guarded handler that asks the services what the
action would touch and says so); the panel opens with its sentence. The caller wires the action
itself to the returned confirming button, under the action's published API name, so an API
client still calls the action directly and the browser reaches the same endpoint through the
panel. Backing out, confirming, or changing any of the inputs closes the panel, so what is
confirmed is always what was described.
"""

from __future__ import annotations

import functools

import gradio as gr

# What gr.update(visible=False/True) sends, returned by a browser-only event: no server round
# trip (HIDE closes a question; both open and close forms shown on demand).
HIDE = "() => ({__type__: 'update', visible: false})"
SHOW = "() => ({__type__: 'update', visible: true})"
KEEP_LABEL = "No, keep it"


def opening(describe):
    """`describe` as the handler that opens the panel: (the panel shown, the sentence)."""

    @functools.wraps(describe)
    def show(*args, **kwargs):
        return gr.Column(visible=True), f"⚠ {describe(*args, **kwargs)}"

    return show


def ask_first(
    button: gr.Button,
    describe,
    inputs: list,
    confirm_label: str | None = None,
    variant: str = "stop",
    apart: list | None = None,
) -> gr.Button:
    """Make `button` ask first; returns the panel's confirming button for the action, labelled
    `confirm_label` or "Yes, " and the button's own word ("Yes, deactivate"), styled as
    `variant` ("stop": dangerous; "primary": wanted). `apart` is a list shared by the questions
    of which only one may be open (a quote's Accept and Reject): opening this one closes the
    others and theirs close this. It may hold a plain button that does not ask ((button, None)),
    whose click closes the questions too."""
    confirm_label = confirm_label or f"Yes, {button.value.lower()}"
    name = describe.__name__.removeprefix("describe_")
    classes = ["crpm-confirm", f"crpm-confirm-{variant}"]
    with gr.Column(visible=False, elem_id=f"confirm-{name}", elem_classes=classes) as panel:
        message = gr.Markdown(elem_classes="crpm-confirm-message")
        with gr.Row(elem_classes="crpm-confirm-buttons"):
            confirm = gr.Button(confirm_label, variant=variant, scale=2, min_width=160)
            keep = gr.Button(KEEP_LABEL, scale=1, min_width=120)
    button.click(
        opening(describe),
        inputs,
        [panel, message],
        api_visibility="private",
        show_progress="hidden",
    )
    closers = [keep.click, confirm.click, *(component.change for component in inputs)]
    gr.on(closers, None, None, panel, js=HIDE, show_progress="hidden")
    if apart is not None:
        for other, other_panel in apart:
            other.click(None, None, panel, js=HIDE, show_progress="hidden")
            if other_panel is not None:
                button.click(None, None, other_panel, js=HIDE, show_progress="hidden")
        apart.append((button, panel))
    return confirm

"""What every record form's handlers share (Customers, Products): the picked ID checked, the
record loaded, a change made through one service method, a toast saying what happened, and the
record given back as the edit form shows it."""

from __future__ import annotations

import gradio as gr

from crpm.ui.common import UIContext, info, required_id


class RecordHandlers:
    """Base of a tab's handlers over one record service: `noun` names the record, `hint` says
    how to pick one, `title` how a toast names it ("Customer #{id} {name}", filled in from the
    record's fields); a subclass says how the edit form shows a record (`_form`)."""

    def __init__(self, ctx: UIContext, service, noun: str, hint: str, title: str):
        self.ctx = ctx
        self.service = service
        self.noun = noun
        self.hint = hint
        self.title = title

    def _form(self, record) -> tuple:
        raise NotImplementedError

    def _id(self, record_id) -> int:
        return required_id(record_id, self.noun, self.hint)

    def _load(self, record_id, request: gr.Request) -> tuple:
        record_id = self._id(record_id)  # a missing ID is named before anything else
        return self._form(self.service.get(self.ctx.actor(request), record_id))

    def _done(self, record, said: str) -> tuple:
        """Toast the record's title and `said` (its {fields} filled in); answer the form."""
        info(f"{self.title} {said}".format(**record.to_dict()))
        return self._form(record)

    def _change(self, method: str, record_id, request: gr.Request, said: str, *args, **fields):
        """Run service.method(actor, id, *args, **fields) and answer as `_done` does."""
        record_id = self._id(record_id)
        change = getattr(self.service, method)
        record = change(self.ctx.actor(request), record_id, *args, **fields)
        return self._done(record, said)

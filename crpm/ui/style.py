"""The dashboard's look: a calm theme with system fonts (nothing fetched from a font CDN)."""

from __future__ import annotations

import gradio as gr

from crpm.ui.common import MAX_COLUMNS

SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]

THEME = gr.themes.Soft(
    primary_hue="indigo",
    secondary_hue="sky",
    neutral_hue="slate",
    radius_size="md",
    font=SYSTEM_FONTS,
    font_mono=MONO_FONTS,
)

CSS = """
/* A refusal is told in a toast naming the field; Gradio would also cover every output of the
   event with an "Error" badge, hiding what the user typed (loading indicators stay). */
[data-testid="status-tracker"]:has(> span.error) { display: none !important; }
.gradio-container { width: 100% !important; max-width: 1320px !important; margin: 0 auto; }
.crpm-header { align-items: center; border-bottom: 1px solid var(--border-color-primary);
  margin-bottom: 4px; }
.crpm-header h1 { margin: 0; font-size: 1.6rem; letter-spacing: -0.01em; }
.crpm-who { text-align: right; color: var(--body-text-color-subdued); }
/* On a phone the login gets a line of its own under the title, not a sliver beside it. */
@media (max-width: 640px) {
  .crpm-header > .crpm-who { order: 3; flex: 1 1 100% !important; }
  .crpm-header .crpm-who { text-align: left; }
}
.crpm-card { border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 12px 14px !important; background: var(--background-fill-secondary); }
.crpm-pager { align-items: center; gap: 8px; margin-top: 4px; }
.crpm-pager-page input { text-align: center; }
.crpm-pager-info { align-self: center; padding-left: 8px; }
.crpm-pager-info p { margin: 0; }
.crpm-figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(11.5rem, 1fr));
  gap: 12px; margin: 6px 0 10px; }
.crpm-figure { border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 12px 14px; background: var(--background-fill-primary);
  container-type: inline-size; min-width: 0; }
.crpm-figure .label { font-size: 0.8rem; color: var(--body-text-color-subdued);
  text-transform: uppercase; letter-spacing: 0.04em; }
/* A figure is never clipped: its font shrinks to fit its card ("$313,709.79" on a narrow one);
   --chars is the figure's length (crpm/ui/reports.py), 0.62 em a wide character's width. */
.crpm-figure .value { font-size: min(1.45rem, calc(100cqi / (var(--chars, 8) * 0.62)));
  font-weight: 600; margin-top: 2px; white-space: nowrap; font-variant-numeric: tabular-nums; }
.crpm-figure .note { font-size: 0.78rem; color: var(--body-text-color-subdued); }
.crpm-figure.warn .value { color: #b45309; }
.crpm-total { font-size: 1.15rem; }
.crpm-note { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.crpm-empty { color: var(--body-text-color-subdued); font-style: italic; }
.crpm-download-link { display: inline-block; padding: 4px 12px; font-size: 0.85rem;
  border: 1px solid var(--button-secondary-border-color); border-radius: 6px;
  background: var(--button-secondary-background-fill); color: var(--button-secondary-text-color);
  text-decoration: none; }
/* The search bar (staff) stays at the top of the screen: a record it opens is scrolled into
   view below it (crpm/ui/search.py), and its matches' list still opens on screen, above the
   page (Gradio's layers go to 50). Gradio's container hides its overflow, which would make it
   the box a sticky bar sticks in; clipping does the same without that. */
.gradio-container { overflow: clip !important; }
#crpm-search-row { position: sticky; top: 0; z-index: 100; padding: 4px 0;
  background: var(--body-background-fill); }
.crpm-confirm { border: 1px solid var(--error-border-color, #fca5a5) !important;
  border-radius: 10px; padding: 10px 14px !important; margin: 6px 0;
  background: var(--error-background-fill, #fef2f2) !important; }
.crpm-confirm-message p { margin: 0 0 6px; }
.crpm-confirm-buttons { gap: 8px; }
/* The theme's stop buttons look like any other. A button that starts a destructive action
   (variant="stop": deactivate, cancel a sale, erase) reads as dangerous; the one that confirms
   it, in the question (crpm/ui/confirm.py), is solid red. */
button.stop { color: #b91c1c !important; border-color: #fca5a5 !important;
  background: #fef2f2 !important; }
button.stop:hover { background: #fee2e2 !important; }
.crpm-confirm button.stop { background: #dc2626 !important; color: #fff !important;
  border-color: #b91c1c !important; }
.crpm-confirm button.stop:hover { background: #b91c1c !important; }
/* A wanted action asked first (a customer accepting a quote) is no warning. */
.crpm-confirm.crpm-confirm-primary { border-color: var(--border-color-accent, #a5b4fc) !important;
  background: var(--background-fill-primary, #fff) !important; }
/* A dropdown's caret is laid over the right end of its box (Gradio positions it absolutely):
   a long value (a match of the search, a picked product) ran under it, on a phone always. The
   value stops short of the caret and ends in an ellipsis. */
.wrap-inner .secondary-wrap:has(> .icon-wrap) > input {
  padding-right: calc(2 * var(--size-5)) !important; text-overflow: ellipsis; }
.crpm-download-link:hover { background: var(--button-secondary-background-fill-hover); }
/* The field a refusal names (FIELD_MARKS_JS) and the reason under it. */
.crpm-invalid { outline: 2px solid #dc2626; outline-offset: -2px; }
.crpm-invalid input, .crpm-invalid textarea { border-color: #dc2626 !important; }
.crpm-field-error { color: #b91c1c; font-size: 0.85rem; margin-top: 4px; }
/* Toasts small, in the bottom corner, clear of the field a refusal marks (scrolled mid-screen)
   and of the top of the forms, where they used to sit. */
.toast-wrap { top: auto !important; bottom: 12px !important; max-width: min(360px, 94vw); }
"""

# Tables (crpm.ui.common.data_table): Gradio measures each column on one hidden "sizing" row
# holding the column's longest value, in a table as wide as its content but no wider than its
# box. Letting a text column's value wrap there between words (and never a heading inside a
# word) lets the browser fit the table into its box, giving the numbers their full width and
# the text what is left; a table only scrolls sideways when even its longest words do not fit.
# The font, the headings and wrapping between words apply to every table of the app, those of
# Analytics too; a table that says its columns' kinds keeps its numbers and dates on one line.
TABLE_CSS = """
.gradio-container table.header-table, .gradio-container .virtual-body .virtual-row {
  font-family: var(--font); font-variant-numeric: tabular-nums; }
.gradio-container .header-table th .header-content { flex: 1 1 auto; }
.gradio-container .header-table th span.header { word-break: normal; overflow-wrap: normal;
  hyphens: none; text-align: left; }
.gradio-container .header-table .sizing-body td { padding: 0; }
.crpm-wrap-all .header-table .sizing-body td { white-space: normal; }
.gradio-container .block:not(.crpm-table) .header-table .sizing-body td { white-space: normal; }
.crpm-table .virtual-body .virtual-row span.text { word-break: normal; overflow-wrap: anywhere; }
""" + "".join(
    f""".crpm-wrap-{n} .header-table .sizing-body td:nth-child({n}) {{ white-space: normal; }}
.crpm-num-{n} .header-table th:nth-child({n}) span.header,
.crpm-num-{n} .virtual-body .virtual-row > .body-cell:nth-child({n}) span {{ text-align: right; }}
"""
    for n in range(1, MAX_COLUMNS + 1)
)
# On a phone a wide table scrolls sideways anyway: its text columns keep a readable width there
# instead of a word per line.
TABLE_CSS += (
    "@media (max-width: 640px) {\n"
    + "".join(
        f".crpm-wrap-{n} .header-table .sizing-body td:nth-child({n}) {{ min-width: 8em; }}\n"
        for n in range(1, MAX_COLUMNS + 1)
    )
    + ".crpm-wrap-all .header-table .sizing-body td { min-width: 8em; }\n}\n"
)
CSS += TABLE_CSS

# A refusal names the field by the label its form shows ("Unit price: must be a number",
# crpm/ui/fields.py), in a warning toast. Mark that field in the form the person acted in (the
# nearest one, going out from what they clicked or pressed Enter in): a red frame, the reason
# under the field, the field brought into view. Typing into it, or the next refusal, clears it.
FIELD_MARKS_JS = """
(() => {
  let acted = [];
  const remember = (event) => { acted = event.composedPath().filter((n) => n instanceof Element); };
  document.addEventListener("click", remember, true);
  document.addEventListener("keydown", (event) => event.key === "Enter" && remember(event), true);
  const bare = (label) => label.trim().replace(/\\s*\\*$/, "").replace(/\\s*\\([^()]*\\)$/, "");
  const unmark = (block) => {
    block.classList.remove("crpm-invalid");
    block.querySelectorAll(".crpm-field-error").forEach((reason) => reason.remove());
    block.querySelectorAll("[aria-invalid]").forEach((box) => box.removeAttribute("aria-invalid"));
  };
  const fieldNear = (label) => {
    for (const scope of acted) {
      const info = [...scope.querySelectorAll('[data-testid="block-info"]')]
        .find((shown) => shown.offsetParent !== null && bare(shown.textContent) === label);
      if (info) return info.closest(".block");
    }
    return null;
  };
  const mark = (message) => {
    document.querySelectorAll(".crpm-invalid").forEach(unmark);
    const colon = message.indexOf(": ");
    const block = colon > 0 ? fieldNear(message.slice(0, colon)) : null;
    if (!block) return;
    const reason = document.createElement("div");
    reason.className = "crpm-field-error";
    reason.textContent = message.slice(colon + 2);
    block.append(reason);
    block.classList.add("crpm-invalid");
    block.querySelector("input, textarea")?.setAttribute("aria-invalid", "true");
    block.scrollIntoView({ block: "center" });
    const clear = () => unmark(block);
    block.addEventListener("input", clear, { once: true });
    block.addEventListener("change", clear, { once: true });
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (!(node instanceof Element)) continue;
        const toasts = node.matches(".toast-body.warning")
          ? [node] : node.querySelectorAll(".toast-body.warning");
        for (const toast of toasts) {
          mark(toast.querySelector('[data-testid="toast-text"]')?.textContent.trim() || "");
        }
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
"""

# When the session behind an open page ends (logout elsewhere, deactivation, erasure, expiry),
# the server refuses the page's next call with 401; Gradio would only mark the outputs. Send the
# person to the login page, which says the session has ended.
SESSION_END_JS = """
(() => {
  const send = window.fetch;
  window.fetch = async (...args) => {
    const answer = await send(...args);
    const url = String((args[0] && args[0].url) || args[0]);
    if (answer.status === 401 && url.includes("gradio_api/")) {
      window.location.assign("login?notice=expired");
    }
    return answer;
  };
})();
"""
HEAD = f"<script>{SESSION_END_JS}{FIELD_MARKS_JS}</script>"

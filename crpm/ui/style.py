"""The dashboard's look: a calm theme with system fonts (nothing fetched from a font CDN)."""

from __future__ import annotations

import gradio as gr

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
.crpm-card { border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 12px 14px !important; background: var(--background-fill-secondary); }
.crpm-pager { align-items: center; gap: 8px; margin-top: 4px; }
.crpm-pager-page input { text-align: center; }
.crpm-pager-info { align-self: center; padding-left: 8px; }
.crpm-pager-info p { margin: 0; }
.crpm-figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr));
  gap: 12px; margin: 6px 0 10px; }
.crpm-figure { border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 12px 14px; background: var(--background-fill-primary); }
.crpm-figure .label { font-size: 0.8rem; color: var(--body-text-color-subdued);
  text-transform: uppercase; letter-spacing: 0.04em; }
.crpm-figure .value { font-size: 1.45rem; font-weight: 600; margin-top: 2px; }
.crpm-figure .note { font-size: 0.78rem; color: var(--body-text-color-subdued); }
.crpm-figure.warn .value { color: #b45309; }
.crpm-total { font-size: 1.15rem; }
.crpm-note { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.crpm-empty { color: var(--body-text-color-subdued); font-style: italic; }
.crpm-download-link { display: inline-block; padding: 4px 12px; font-size: 0.85rem;
  border: 1px solid var(--button-secondary-border-color); border-radius: 6px;
  background: var(--button-secondary-background-fill); color: var(--button-secondary-text-color);
  text-decoration: none; }
.crpm-confirm { border: 1px solid var(--error-border-color, #fca5a5) !important;
  border-radius: 10px; padding: 10px 14px !important; margin: 6px 0;
  background: var(--error-background-fill, #fef2f2) !important; }
.crpm-confirm-message p { margin: 0 0 6px; }
.crpm-confirm-buttons { gap: 8px; }
/* The theme's stop buttons are pale; the one that confirms a destructive action is not. */
.crpm-confirm button.stop { background: #dc2626 !important; color: #fff !important;
  border-color: #b91c1c !important; }
.crpm-confirm button.stop:hover { background: #b91c1c !important; }
.crpm-download-link:hover { background: var(--button-secondary-background-fill-hover); }
"""

# When the session behind an open page ends (logout elsewhere, deactivation, erasure, expiry),
# the server refuses the page's next call with 401; Gradio would only mark the outputs. Send the
# person to the login page, which says the session has ended.
HEAD = """<script>
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
</script>"""

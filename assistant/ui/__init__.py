"""The Gradio chat and sources pages; `render` turns answers into escaped HTML and Markdown."""

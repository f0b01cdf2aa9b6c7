"""The web faces (FastAPI routes, middleware, Gradio pages): the only part of ``bot`` that needs FastAPI or
Gradio; everything else is usable as a library."""

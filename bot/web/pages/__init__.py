"""The Gradio pages: the chat with its quiz tab at ``/``, and the staff page at ``/staff``."""

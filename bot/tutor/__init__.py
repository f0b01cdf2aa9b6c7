"""The tutor: quiz bank, grading, Socratic coaching, progress and the chat's quiz intents."""

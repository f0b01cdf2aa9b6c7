"""Privacy and guard: redaction of personal data, and screening of injections and planted instructions."""

"""Staff close the loop: gaps (refused and down-rated answers) grouped by meaning, curated entries written,
previewed and published live, suggested alternates, hit counts, staff accounts and the audit log.

The parts: ``accounts`` (who is signing in), ``entries`` (what staff may write, and the index documents an
entry becomes), ``grouping`` (questions that ask the same thing), ``preview`` (what the bot would answer with
a draft entry, and whose questions it would take), ``service`` (the operations the staff page and the admin
API both call).
"""

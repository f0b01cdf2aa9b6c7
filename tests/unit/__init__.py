"""Unit tests that need neither the embedding model nor an index: they run in well under a second each."""

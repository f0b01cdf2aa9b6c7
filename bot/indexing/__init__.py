"""Indexing: knowledge-base loaders and chunking, the Chroma index with its incremental sync, embeddings and
the keyword index."""

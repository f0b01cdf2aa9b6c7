"""HTTP routes: parse, call a ``bot`` service, shape the response."""

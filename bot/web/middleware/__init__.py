"""ASGI middleware every request passes: body limits, rate limits, security headers and CORS."""

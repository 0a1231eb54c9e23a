"""`guard serve`: the guard as an HTTP service, and as a guarding reverse proxy in front of any generation API."""
from guard.service.app import DEFAULT_PROXY_POINTERS, DEFAULT_PROXY_ROUTES, GuardService, create_app
from guard.service.metrics import Metrics
from guard.service.proxy import ProxyApp

__all__ = ["DEFAULT_PROXY_POINTERS", "DEFAULT_PROXY_ROUTES", "GuardService", "Metrics", "ProxyApp", "create_app"]

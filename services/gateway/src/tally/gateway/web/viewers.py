"""Who an HTTP request comes from: a bearer key (API), a portal session cookie or a console session cookie."""

from __future__ import annotations

from starlette.requests import Request

from tally.domain.errors import Unauthenticated
from tally.gateway.customer_keys import ApiKeyVerifier
from tally.gateway.domain.access import Viewer
from tally.gateway.links import ConsoleSessions, PortalLinks

PORTAL_COOKIE = "tally_portal"
CONSOLE_COOKIE = "tally_console"


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing 'Authorization: Bearer <api key>' header")
    return token.strip()


class Viewers:
    def __init__(self, keys: ApiKeyVerifier, links: PortalLinks, sessions: ConsoleSessions) -> None:
        self.keys = keys
        self.links = links
        self.sessions = sessions

    async def api(self, request: Request) -> Viewer:
        viewer = await self.keys.viewer(bearer_token(request))
        if viewer is None:
            raise Unauthenticated("API key is unknown, revoked, or not an operator's or a customer's key")
        return viewer

    def portal(self, request: Request) -> Viewer:
        token = request.cookies.get(PORTAL_COOKIE)
        if not token:
            raise Unauthenticated("open the portal with the link you were sent")
        return self.links.viewer(token)

    def console(self, request: Request) -> Viewer | None:
        token = request.cookies.get(CONSOLE_COOKIE)
        return self.sessions.viewer(token) if token else None

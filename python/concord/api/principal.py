"""Who calls a route: the principal of the request's API token. Every route takes a
:data:`Caller`, a client whose transactions start with ``concord.authenticate(token)``, so the
database decides who acts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from ..client import Client
from ..errors import NotPermitted


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str:
    """The API token of ``Authorization: Bearer <token>``; 401 without one."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotPermitted(
            "this route needs an API token: send Authorization: Bearer <token>",
            rule="the_caller_is_authenticated",
            hint="Create one with `concord token create` or concord.create_api_token.",
        )
    return token.strip()


def caller(
    request: Request,
    token: Annotated[str, Depends(bearer_token)],
    concord_project: Annotated[str | None, Header()] = None,
) -> Client:
    """The app's client acting as the token's principal, in the chosen project."""
    return request.app.state.client.acting_as(token, concord_project)


Caller = Annotated[Client, Depends(caller)]

"""Errors as RFC 9457 problem details: the Concord code, the rule that refused and its hint
travel to the HTTP caller, with a status that says what kind of refusal it was."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ConcordError, from_psycopg, rule_of

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("concord.api")

# The HTTP status of each Concord code: 4xx says the caller can act on it.
STATUS_BY_CODE = {
    "CN001": 409,  # the state machine does not allow the move now
    "CN002": 409,  # idempotency key taken by a different request
    "CN003": 409,  # dependency cycle
    "CN004": 403,  # an agent asked for more than its parent holds
    "CN005": 422,  # invalid payload or specification
    "CN006": 404,  # not found (or not visible to the caller)
    "CN007": 409,  # append-only or immutable
    "CN008": 422,  # invalid argument
    "CN009": 422,  # unknown command type
    "CN010": 409,  # a configured limit would be exceeded
    "CN011": 409,  # does not fit the current state
    "CN012": 403,  # not permitted
    "CN013": 409,  # approval already resolved
    "CN014": 409,  # approval expired
    "CN015": 503,  # the runtime is not installed
    "CN016": 409,  # no usable contract
    "CN017": 409,  # incompatible version
}
# Refusals that mean "who are you?", not "you may not".
UNAUTHENTICATED_RULES = {
    "a_credential_is_valid",
    "the_caller_is_authenticated",
    "a_webhook_is_signed_by_its_source",
}


class Problem(BaseModel):
    """An RFC 9457 problem details document, as every refusal is answered."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str | None = Field(default=None, description="The Concord code (CN...).")
    rule: str | None = Field(default=None, description="The rule that refused.")
    hint: str | None = Field(default=None, description="What to do about it.")
    errors: list[Any] | None = Field(default=None, description="Every problem found.")


MEANING = {
    401: "No valid API token (or webhook signature).",
    403: "Refused: the caller may not do this.",
    404: "Not found, or not visible to the caller.",
    409: "Conflicts with the current state (an idempotency key, a status, a limit).",
    413: "The body is too large.",
    422: "Invalid input.",
    503: "Not ready, or a dependency is unavailable.",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that may answer these problem statuses."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": MEANING[status],
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


def document_problems(app: FastAPI) -> None:
    """Put the one ``Problem`` schema that :func:`responses` refers to into ``app``'s OpenAPI
    components, so that each response names it instead of repeating it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# What any route called with a token may answer besides success: no token (401), a refusal
# (403), a Concord-Project or row it may not see (404), invalid input (422).
CALLER = (401, 403, 404, 422)
# ... and a route that changes something: a conflict with the current state (409).
CHANGE = (401, 403, 404, 409, 422)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem details response; ``extra`` members with a value are added."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({key: value for key, value in extra.items() if value is not None})
    headers = {"WWW-Authenticate": 'Bearer realm="concord"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def from_concord(error: ConcordError, instance: str) -> JSONResponse:
    code = error.sqlstate or ""
    status = STATUS_BY_CODE.get(code, 422)
    if error.rule in UNAUTHENTICATED_RULES:
        status = 401
    return problem(
        status,
        type(error).__name__,
        error.message,
        instance=instance,
        code=code,
        rule=error.rule,
        hint=error.hint,
        errors=_listed(error.detail),
    )


def _listed(detail: str | None) -> list[str] | None:
    """The server's DETAIL as a list: one problem per line, without the "- " bullets."""
    if not detail:
        return None
    return [line.removeprefix("- ").strip() for line in detail.splitlines() if line.strip()]


def concord_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConcordError)
    return from_concord(exc, request.url.path)


def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A database error that carries no Concord code: a CHECK constraint's or a type's
    refusal of the input is 422 with its rule; anything else is a 500 that says nothing of
    the server's internals."""
    assert isinstance(exc, psycopg.Error)
    mapped = from_psycopg(exc)
    if isinstance(mapped, ConcordError):
        return from_concord(mapped, request.url.path)
    sqlstate = exc.sqlstate or ""
    # a data exception or a constraint's refusal, also one psycopg raises before sending
    # (a NUL character in a text value)
    if sqlstate[:2] in {"22", "23"} or isinstance(exc, psycopg.DataError):
        diag = exc.diag
        # a Concord code and rule, as for every refusal; the server's own code stays beside
        return problem(
            422,
            "InvalidInput",
            diag.message_primary or str(exc) or "the input was refused",
            instance=request.url.path,
            code="CN008",
            rule=rule_of(exc) or "a_value_is_one_postgresql_can_store",
            hint=(
                "Text may not hold NUL (\\u0000) characters, and numbers must be finite and "
                "within PostgreSQL's range."
                if sqlstate[:2] != "23"
                else None
            ),
            sqlstate=sqlstate or "22000",
        )
    logger.error("%s %s failed in the database", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "InternalError",
        "the server could not complete the request",
        instance=request.url.path,
        code=sqlstate or None,
    )


def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A request the routes' own schema refuses (bad JSON, a missing field, a wrong type):
    422 with every problem listed."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": ".".join(str(part) for part in error.get("loc", ())), "problem": error["msg"]}
        for error in exc.errors()
    ]
    return problem(
        422,
        "InvalidRequest",
        f"the request has {len(errors)} problem(s)",
        instance=request.url.path,
        code="CN008",
        rule="a_request_matches_its_route",
        errors=errors,
    )


def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A failure of ours: logged with its traceback, answered as a 500 problem that says
    nothing of the server's internals."""
    logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "InternalError",
        "the server could not complete the request",
        instance=request.url.path,
    )


def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The framework's own refusals (no such route, a method the route does not take) as
    problem details too."""
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400:
        # a body the framework could not parse (JSON nested deeper than it reads): invalid
        # input, as a route's schema refusal is
        return problem(
            422,
            "InvalidRequest",
            str(exc.detail),
            instance=request.url.path,
            code="CN008",
            rule="a_request_matches_its_route",
        )
    try:
        title = HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        title = "Error"
    response = problem(status, title, str(exc.detail), instance=request.url.path)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response

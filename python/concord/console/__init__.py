"""Concord's web console (spec 116): server-rendered pages served by the REST API's
application under ``/console``. A person signs in with an API token; every page is read and
every decision made through the same SQL functions as the REST API, as that person."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .pages import HERE, SignInRequired, for_the_console, to_sign_in
from .registry_pages import router as registry_router
from .routes import router
from .sessions import Sessions


def install(app: FastAPI) -> None:
    """Serve the console from ``app``: its pages, its static files, and error pages for the
    console's paths (the API's paths keep their problem documents)."""
    app.state.console_sessions = Sessions()
    app.include_router(router)
    app.include_router(registry_router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    for exc_class, api_handler in list(app.exception_handlers.items()):
        app.add_exception_handler(exc_class, for_the_console(api_handler))
    app.add_exception_handler(SignInRequired, to_sign_in)


async def shutdown(app: FastAPI) -> None:
    """Stop the console's live-update listener, if it started."""
    events = getattr(app.state, "console_events", None)
    if events is not None:
        await events.close()


__all__ = ["install", "shutdown"]

"""Signing in to the console is taken only from the console's own sign-in form: another site's
page that posts its author's token to /console/sign-in (login CSRF) must not sign the visitor
in as that author, and where sign-in sends the browser afterwards stays on this server. Every
answer under /console, redirects included, forbids framing. Plain HTTP: no browser needed."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from support.console import Setup

SIGN_IN_COOKIE = "concord_sign_in"


def form_of(http: httpx.Client) -> dict[str, str]:
    """The sign-in page's form fields (its hidden secret among them)."""
    page = http.get("/console/sign-in")
    assert page.status_code == 200
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))


def test_a_sign_in_posted_by_another_site_is_refused(console: Setup) -> None:
    # another site's page can post a form, but has neither the console's cookie nor its secret
    with httpx.Client(base_url=console.base) as http:
        forged = http.post(
            "/console/sign-in",
            data={"token": console.tokens["outsider"], "next": "/console/approvals"},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert forged.status_code == 403, forged.text
        assert "a_console_form_carries_its_session_secret" in forged.text
        assert "concord_session" not in forged.headers.get("set-cookie", "")
        # a secret copied from another visitor's page does not match this visitor's cookie
        with httpx.Client(base_url=console.base) as other:
            stolen = form_of(other)["csrf"]
        forged = http.post(
            "/console/sign-in", data={"token": console.tokens["outsider"], "csrf": stolen}
        )
        assert forged.status_code == 403, forged.text
        assert "concord_session" not in http.cookies


def test_the_consoles_own_sign_in_form_signs_in(console: Setup) -> None:
    with httpx.Client(base_url=console.base) as http:
        fields = form_of(http)
        cookie = next(c for c in http.cookies.jar if c.name == SIGN_IN_COOKIE)
        assert cookie.path == "/console" and cookie.has_nonstandard_attr("HttpOnly")
        signed = http.post(
            "/console/sign-in", data={**fields, "token": console.tokens["approver"]}
        )
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/console/approvals"
        assert "concord_session" in http.cookies
        assert http.get("/console/approvals").status_code == 200
        # a wrong token keeps the form usable: the page it answers carries the secret again
        with httpx.Client(base_url=console.base) as again:
            fields = form_of(again)
            wrong = again.post("/console/sign-in", data={**fields, "token": "cct_" + "0" * 64})
            assert wrong.status_code == 401
            assert f'value="{fields["csrf"]}"' in wrong.text


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/console//evil.example",
        "/console/..//evil.example",
        "/console/\\\\evil.example",
        "/console/%2F%2Fevil.example",
        "/console/\t//evil.example",
        " /console/approvals",
    ],
)
def test_sign_in_never_sends_the_browser_to_another_site(console: Setup, target: str) -> None:
    with httpx.Client(base_url=console.base) as http:
        fields = form_of(http)
        signed = http.post(
            "/console/sign-in",
            data={**fields, "token": console.tokens["approver"], "next": target},
        )
        assert signed.status_code == 303, signed.text
        location = signed.headers["location"]
        # where a browser goes: the same host, always
        assert urlsplit(urljoin(console.base + "/console/sign-in", location)).netloc == (
            urlsplit(console.base).netloc
        ), location


def test_every_console_answer_forbids_framing(console: Setup) -> None:
    with httpx.Client(base_url=console.base) as http:
        fields = form_of(http)
        answers = [
            http.get("/console"),
            http.get("/console/approvals"),  # to sign-in
            http.get("/console/sign-in"),
            http.post("/console/sign-in", data={**fields, "token": console.tokens["approver"]}),
            http.get("/console/"),
            http.get("/console/no-such-page"),
            http.get("/console/commands/not-a-uuid"),
            http.get("/console/commands?status=bogus"),
        ]
        csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/console/approvals").text)
        assert csrf is not None
        answers.append(http.post("/console/sign-out", data={"csrf": csrf.group(1)}))
        for answer in answers:
            where = f"{answer.request.method} {answer.request.url} -> {answer.status_code}"
            assert answer.headers.get("x-frame-options") == "DENY", where
            assert "frame-ancestors 'none'" in answer.headers.get(
                "content-security-policy", ""
            ), where
            assert answer.headers.get("cache-control") == "no-store", where

"""A key another transaction took after this one's snapshot is a serialization failure
(SQLSTATE 40001) the caller retries, never a second command or effect and never a wrong
answer: rules ``a_concurrently_taken_idempotency_key_is_retried`` (submit_command) and
``a_concurrently_taken_effect_key_is_retried`` (plan_effect), spec 11.

Under REPEATABLE READ and SERIALIZABLE the winner's row is invisible to the loser. Today
PostgreSQL's own ON CONFLICT check refuses first (40001, no constraint name); Concord's
rule stands behind it with the same code, so either refusal keeps the promise: the
loser retries, and the retry answers the winner's row."""

from __future__ import annotations

import psycopg
import pytest

RULES = {
    "submit": "a_concurrently_taken_idempotency_key_is_retried",
    "effect": "a_concurrently_taken_effect_key_is_retried",
}


def _refusal(exc: psycopg.Error) -> tuple[str | None, str | None]:
    return exc.sqlstate, exc.diag.constraint_name


@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
def test_a_taken_idempotency_key_is_retried(concord_dsn: str, isolation: str) -> None:
    key = f"taken-key-{isolation.split()[0].lower()}"
    with (
        psycopg.connect(concord_dsn, autocommit=True) as winner,
        psycopg.connect(concord_dsn) as loser,
    ):
        winner.execute(
            "SELECT concord.register_command_type("
            '\'{"command_type": "taken_key", "sync_allowed": true}\')'
        )
        loser.execute(f"BEGIN ISOLATION LEVEL {isolation}")
        loser.execute("SELECT count(*) FROM concord.commands")  # the snapshot is taken
        first = winner.execute(
            "SELECT command_id FROM concord.submit_command('taken_key', '{}', 'bob', 'api', "
            "'{}', %s)",
            (key,),
        ).fetchone()[0]
        with pytest.raises(psycopg.Error) as refused:
            loser.execute(
                "SELECT concord.submit_command('taken_key', '{}', 'bob', 'api', '{}', %s)",
                (key,),
            )
        state, rule = _refusal(refused.value)
        assert state == "40001"
        assert rule in (None, RULES["submit"])
        loser.rollback()
        again = loser.execute(
            "SELECT command_id FROM concord.submit_command('taken_key', '{}', 'bob', 'api', "
            "'{}', %s)",
            (key,),
        ).fetchone()[0]
        loser.commit()
        assert again == first
        count = winner.execute(
            "SELECT count(*) FROM concord.commands WHERE idempotency_key = %s", (key,)
        ).fetchone()[0]
        assert count == 1


def test_a_taken_effect_key_is_retried(concord_dsn: str) -> None:
    with (
        psycopg.connect(concord_dsn, autocommit=True) as winner,
        psycopg.connect(concord_dsn) as loser,
    ):
        winner.execute(
            "SELECT concord.register_command_type("
            '\'{"command_type": "taken_effect_key", "sync_allowed": true}\')'
        )
        command_id = winner.execute(
            "SELECT command_id FROM concord.submit_command('taken_effect_key', '{}', 'bob', "
            "'api', '{}', 'taken-effect-command')"
        ).fetchone()[0]
        # a worker runs it: queued, then claimed by its first run
        winner.execute("SELECT concord.transition_command(%s, 'queued', 'op')", (command_id,))
        winner.execute(
            "SELECT concord.runtime_claim(%s, %s, 'worker')", (command_id, str(command_id))
        )
        loser.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        loser.execute("SELECT count(*) FROM concord.domain_effects")
        first = winner.execute(
            "SELECT concord.plan_effect(%s, 'email.send', '{}', 'taken-effect-key')",
            (command_id,),
        ).fetchone()[0]
        with pytest.raises(psycopg.Error) as refused:
            loser.execute(
                "SELECT concord.plan_effect(%s, 'email.send', '{}', 'taken-effect-key')",
                (command_id,),
            )
        state, rule = _refusal(refused.value)
        assert state == "40001"
        assert rule in (None, RULES["effect"])
        loser.rollback()
        again = loser.execute(
            "SELECT concord.plan_effect(%s, 'email.send', '{}', 'taken-effect-key')",
            (command_id,),
        ).fetchone()[0]
        loser.commit()
        assert again == first

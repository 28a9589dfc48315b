-- Helpers of the agentic record's guards: raising a list of problems, auditing
-- an agentic row.

-- Raises the first problem of a [{code, rule, reason}] list, with every
-- reason in DETAIL; the problem's rule is the refusal's rule.
CREATE OR REPLACE FUNCTION concord._raise_problems(problems jsonb, what text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF jsonb_array_length(coalesce(problems, '[]'::jsonb)) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = problems -> 0 ->> 'code',
            CONSTRAINT = problems -> 0 ->> 'rule',
            MESSAGE = format('%s refused: %s', what, problems -> 0 ->> 'reason'),
            DETAIL = (SELECT string_agg(p.item ->> 'reason', '; ') FROM jsonb_array_elements(problems) AS p (item));
    END IF;
END
$$;

-- The single writer of domain_events rows for the agentic record.
CREATE OR REPLACE FUNCTION concord._agent_audit(
    event_type text,
    purpose text,
    command_id uuid,
    swarm_run_id uuid,
    agent_run_id uuid,
    target_type text,
    target_id text,
    from_status text,
    to_status text,
    payload jsonb,
    trace_id text
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    INSERT INTO concord.domain_events (
        command_id, agent_run_id, swarm_run_id, purpose, event_type, target_type, target_id,
        from_status, to_status, reason, payload, actor, trace_id
    ) VALUES (
        _agent_audit.command_id, _agent_audit.agent_run_id, _agent_audit.swarm_run_id, _agent_audit.purpose,
        _agent_audit.event_type, _agent_audit.target_type, _agent_audit.target_id,
        _agent_audit.from_status, _agent_audit.to_status, nullif(current_setting('concord.reason', true), ''),
        coalesce(_agent_audit.payload, '{}'), concord._actor(),
        coalesce(_agent_audit.trace_id, concord._new_trace_id())
    );
END
$$;

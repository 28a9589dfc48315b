-- Contracts checked while a command runs (spec 18-20, 31.3, 34): which
-- connectors an operation may call, and whether its compensations countered
-- what they declared. Checked here, where every effect begins and every
-- compensation ends, so that no worker module can widen or skip them.

-- The connector names a connector_requirements list declares: an entry is a
-- connector (any of its capabilities) or connector:capability (that one only).
CREATE OR REPLACE FUNCTION concord._required_connectors(requirements text[])
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN ARRAY(SELECT DISTINCT split_part(r, ':', 1) FROM unnest(requirements) AS r ORDER BY 1);
END
$$;

-- Whether command type ct declares connector.capability: listed as the
-- connector or as connector:capability; the built-in notification connector
-- is also declared by notification_required (the type says it notifies).
CREATE OR REPLACE FUNCTION concord._type_declares_connector(
    ct concord.command_types, connector text, capability text
)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN connector = ANY (ct.connector_requirements)
        OR (capability IS NOT null AND connector || ':' || capability = ANY (ct.connector_requirements))
        OR (connector = 'notification' AND ct.notification_required);
END
$$;

-- Refuses (CN012) a connector call command c may not make: its type does not
-- declare it, the connector's registration does not declare the capability,
-- or the command is an agent's tool command and the connector is outside the
-- agent run's allowed_connectors. runtime_begin_effect and
-- record_connector_invocation call it, before a call and when one is recorded.
CREATE OR REPLACE FUNCTION concord._require_connector_call(
    c concord.commands, connector text, capability text
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    ct concord.command_types%ROWTYPE;
    declared text[];
    run concord.agent_runs%ROWTYPE;
BEGIN
    ct := concord._command_contract_of(c);
    -- a null connector (payload {"connector": null}) is declared by no type
    IF NOT coalesce(concord._type_declares_connector(ct, connector, capability), false) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_operation_calls_only_the_connectors_its_command_type_declares',
            TABLE = 'domain_effects',
            MESSAGE = format('command %s (%s) may not call connector %s%s: its command type declares %s',
                             c.command_id, c.command_type, coalesce(connector, 'NULL'), coalesce('.' || capability, ''),
                             coalesce(nullif(array_to_string(ct.connector_requirements, ', '), ''), 'no connector')),
            HINT = 'List the connector (or connector:capability) in the command type''s connector_requirements.';
    END IF;
    SELECT x.capabilities INTO declared FROM concord.connectors AS x WHERE x.connector_name = connector;
    IF capability IS NOT null AND cardinality(declared) > 0 AND NOT capability = ANY (declared) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_connector_is_called_only_for_its_declared_capabilities',
            TABLE = 'domain_effects',
            MESSAGE = format('connector %s is registered without capability %s (it declares %s)', connector,
                             capability, array_to_string(declared, ', ')),
            HINT = 'Add the capability to the connector with concord.register_connector.';
    END IF;
    -- an agent's tool command: the run whose step created it
    SELECT r.* INTO run FROM concord.agent_steps AS s
    INNER JOIN concord.agent_runs AS r ON s.agent_run_id = r.agent_run_id
    WHERE s.created_command_id = c.command_id
    ORDER BY s.created_at
    LIMIT 1;
    IF FOUND AND NOT connector = ANY (run.allowed_connectors)
       AND NOT (connector = 'notification' AND ct.notification_required
                AND NOT 'notification' = ANY (ct.connector_requirements)) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_agents_command_calls_only_connectors_in_its_scope',
            TABLE = 'domain_effects',
            MESSAGE = format('command %s of agent run %s may not call connector %s: the agent may use only %s',
                             c.command_id, run.agent_run_id, connector,
                             coalesce(nullif(array_to_string(run.allowed_connectors, ', '), ''), 'no connector')),
            HINT = 'An agent''s commands stay within its allowed_connectors (spec 61).';
    END IF;
END
$$;

-- The command whose contract governs a connector call of command c: c's own,
-- except for a compensation of another command's effect (a swarm's command
-- countering its agents' effects, spec 65), which acts within the contract of
-- the command whose effect began the chain it counters (its type, its agent's
-- scope), through compensations of compensations too.
CREATE OR REPLACE FUNCTION concord._contract_command(c concord.commands, compensates_effect_id uuid)
RETURNS concord.commands
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    owner concord.commands%ROWTYPE;
BEGIN
    IF compensates_effect_id IS NOT null THEN
        WITH RECURSIVE chain (effect_id, command_id, countered, depth) AS (
            SELECT d.domain_effect_id, d.command_id, d.compensates_effect_id, 1 FROM concord.domain_effects AS d
            WHERE d.domain_effect_id = _contract_command.compensates_effect_id
            UNION ALL
            SELECT d.domain_effect_id, d.command_id, d.compensates_effect_id, x.depth + 1
            FROM chain AS x INNER JOIN concord.domain_effects AS d ON x.countered = d.domain_effect_id
            WHERE x.depth < 16
        )
        SELECT y.* INTO owner FROM chain AS x INNER JOIN concord.commands AS y ON x.command_id = y.command_id
        ORDER BY x.depth DESC
        LIMIT 1;
        IF FOUND THEN
            RETURN owner;
        END IF;
    END IF;
    RETURN c;
END
$$;

-- Refuses (CN012) a connector call for effect e of command c other than the
-- one e names (payload.connector, payload.capability), and checks that one
-- against the contract as it stands: runtime_call_effect asks it right
-- before the call (an effect naming no connector was never checked, so its
-- connector is not called), record_connector_invocation when a call of e is
-- recorded (connector and capability given: they must be e's, and e c's).
CREATE OR REPLACE FUNCTION concord._require_effect_connector(
    c concord.commands,
    e concord.domain_effects,
    connector text DEFAULT null,
    capability text DEFAULT null
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    named text := CASE WHEN jsonb_typeof(e.effect_payload -> 'connector') = 'string'
                       THEN e.effect_payload ->> 'connector' END;
    named_capability text := CASE WHEN jsonb_typeof(e.effect_payload -> 'capability') = 'string'
                                  THEN e.effect_payload ->> 'capability' END;
BEGIN
    IF e.command_id IS DISTINCT FROM c.command_id OR named IS null
       OR (connector IS NOT null AND (connector, capability) IS DISTINCT FROM (named, named_capability)) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_connector_call_is_the_one_its_effect_names',
            TABLE = 'connector_invocations',
            MESSAGE = format('command %s may not call %s for effect %s: the effect %s', c.command_id,
                             coalesce(connector || coalesce('.' || capability, ''), 'a connector'),
                             e.domain_effect_id,
                             CASE WHEN e.domain_effect_id IS null THEN 'does not exist'
                                  WHEN e.command_id IS DISTINCT FROM c.command_id
                                  THEN format('belongs to command %s', e.command_id)
                                  WHEN named IS null THEN 'names no connector (payload.connector)'
                                  ELSE format('names %s%s', named, coalesce('.' || named_capability, '')) END),
            HINT = 'Begin the effect with the connector and capability it calls (ctx.effect does).';
    END IF;
    PERFORM concord._require_connector_call(concord._contract_command(c, e.compensates_effect_id), named,
                                            named_capability);
END
$$;

-- The drift detector (spec 31.3), per effect: for each effect of command c
-- that a compensation countered, the effect types its compensation declared
-- (the inverses of the effect's type, for a counter-effects compensation)
-- against the effects that compensation actually began. The effects are c's
-- own and those of other commands c's run countered (its swarm's agents'
-- commands, spec 65). An effect left without a declared counter-effect, or a
-- compensation that began effects it does not declare, writes a
-- compensation_drift audit row on c and notifies the owner of the effect's
-- command type (metadata.owner), else c's type's owner, else c's requester.
-- Called when the command becomes compensated. Returns how many drifted.
CREATE OR REPLACE FUNCTION concord._detect_compensation_drift(c concord.commands, workflow_id text)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    e record;
    drifted integer := 0;
    -- an agent's command was requested by the agent: its drift goes to c's owner
    owner text := nullif(btrim((SELECT t.metadata ->> 'owner' FROM concord.command_types AS t
                                WHERE t.command_type = c.command_type)), '');
BEGIN
    FOR e IN
        SELECT d.domain_effect_id, d.effect_type, k.compensation_name,
               coalesce(nullif(btrim(t.metadata ->> 'owner'), ''), owner, c.requested_by) AS owner,
               ARRAY(SELECT p ->> 'effect_type' FROM jsonb_array_elements(k.produces) AS p ORDER BY 1) AS declared,
               ARRAY(SELECT DISTINCT p ->> 'effect_type' FROM jsonb_array_elements(k.produces) AS p
                     WHERE NOT k.counter_effects OR p ->> 'inverse_of' = d.effect_type ORDER BY 1) AS expected,
               ARRAY(SELECT x.effect_type FROM concord.domain_effects AS x
                     WHERE x.compensates_effect_id = d.domain_effect_id AND x.status = 'succeeded'
                     ORDER BY 1) AS emitted,
               ARRAY(SELECT DISTINCT x.effect_type FROM concord.domain_effects AS x
                     WHERE x.compensates_effect_id = d.domain_effect_id ORDER BY 1) AS begun
        FROM concord.domain_effects AS d
        -- a compensation missing from the recorded catalog has no manifest to compare
        INNER JOIN concord.runtime_compensations AS k ON d.declared_compensation = k.compensation_name
        INNER JOIN concord.commands AS y ON d.command_id = y.command_id
        INNER JOIN concord.command_types AS t ON y.command_type = t.command_type
        WHERE (d.command_id = c.command_id
               OR d.domain_effect_id IN (SELECT x.compensates_effect_id FROM concord.domain_effects AS x
                                         WHERE x.command_id = c.command_id AND x.compensates_effect_id IS NOT null))
          AND d.compensates_effect_id IS null AND d.status = 'succeeded'
        ORDER BY d.created_at, d.domain_effect_id
    LOOP
        IF e.expected <@ e.emitted AND e.begun <@ e.declared
           AND cardinality(e.emitted) = (SELECT count(DISTINCT v) FROM unnest(e.emitted) AS v) THEN
            CONTINUE;
        END IF;
        drifted := drifted + 1;
        PERFORM concord._audit(
            'compensation_drift', c.command_id, c.trace_id, 'effect', e.domain_effect_id::text, null, null,
            jsonb_build_object(
                'effect_id', e.domain_effect_id, 'effect_type', e.effect_type,
                'compensation', e.compensation_name, 'declared', to_jsonb(e.declared),
                'emitted', to_jsonb(e.emitted),
                'undeclared', to_jsonb(ARRAY(SELECT unnest(e.begun) EXCEPT SELECT unnest(e.declared) ORDER BY 1)),
                'missing', to_jsonb(ARRAY(SELECT unnest(e.expected) EXCEPT SELECT unnest(e.emitted) ORDER BY 1)),
                'no_counter_effect', NOT e.expected <@ e.emitted,
                'notified', e.owner),
            'workflow:' || workflow_id);
        INSERT INTO concord.notifications AS n (
            channel, recipient, subject, body, metadata, command_id, idempotency_key, project_id)
        VALUES ('app', e.owner,
                format('Compensation drift in command %s (%s)', c.command_id, c.command_type),
                format('Effect %s (%s) was compensated by %s, which %s.', e.domain_effect_id, e.effect_type,
                       e.compensation_name,
                       CASE WHEN NOT e.expected <@ e.emitted
                            THEN format('did not counter it with %s',
                                        array_to_string(ARRAY(SELECT unnest(e.expected) EXCEPT SELECT unnest(e.emitted)), ', '))
                            ELSE format('began effects it does not declare: %s',
                                        array_to_string(ARRAY(SELECT unnest(e.begun) EXCEPT SELECT unnest(e.declared)), ', '))
                       END),
                jsonb_build_object('kind', 'compensation_drift', 'effect_id', e.domain_effect_id),
                c.command_id, 'compensation_drift:' || e.domain_effect_id, c.project_id)
        ON CONFLICT DO NOTHING;
    END LOOP;
    RETURN drifted;
END
$$;

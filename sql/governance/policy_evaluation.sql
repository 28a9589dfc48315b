-- The evaluation of a command's policies (spec 21, 81.2): every policy that
-- governs its type, combined into one decision with its approvers.

-- Errors that say the database could not run a policy now (serialization
-- failures, deadlocks, lock timeouts, resources, shutdown, internal errors)
-- are not answers: they end the statement, which can be retried, rather than
-- leave a lasting deny.
CREATE OR REPLACE FUNCTION concord._policy_error_is_transient(state text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN left(state, 2) IN ('08', '40', '53', '55', '57', '58', 'XX');
END
$$;

-- What is wrong with an executable policy's answer, or NULL when it is one:
-- {"decision": allow|deny|require_input|require_approval, "reasons": [...],
-- "approval_type": a registered type, "missing_fields": [...]}.
CREATE OR REPLACE FUNCTION concord._policy_answer_problem(answer jsonb)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(answer) IS DISTINCT FROM 'object' THEN
        RETURN format('an answer must be a JSON object, not %s', coalesce(jsonb_typeof(answer), 'NULL'));
    ELSIF jsonb_typeof(answer -> 'decision') IS DISTINCT FROM 'string' THEN
        RETURN CASE WHEN jsonb_typeof(answer -> 'decision') IS DISTINCT FROM 'null'
                         AND answer ? 'decision'
                    THEN format('decision must be a string, not %s', jsonb_typeof(answer -> 'decision'))
                    ELSE 'it gives no decision' END;
    ELSIF NOT answer ->> 'decision' IN ('allow', 'deny', 'require_input', 'require_approval') THEN
        RETURN format('decision %s is not allow, deny, require_input or require_approval', answer -> 'decision');
    ELSIF answer ? 'reasons' AND NOT concord._is_string_list(answer -> 'reasons')
          AND answer -> 'reasons' <> '[]' THEN
        RETURN 'reasons must be an array of distinct non-blank strings';
    ELSIF answer ? 'missing_fields' AND NOT concord._is_string_list(answer -> 'missing_fields')
          AND answer -> 'missing_fields' <> '[]' THEN
        RETURN 'missing_fields must be an array of distinct non-blank strings';
    ELSIF answer ->> 'decision' = 'require_input'
          AND coalesce(jsonb_array_length(CASE jsonb_typeof(answer -> 'missing_fields')
                                          WHEN 'array' THEN answer -> 'missing_fields' END), 0) = 0 THEN
        RETURN 'require_input must name the fields it needs in missing_fields';
    ELSIF answer ->> 'decision' = 'require_approval'
          AND (jsonb_typeof(coalesce(answer -> 'approval_type', '"standard"')) <> 'string'
               OR NOT EXISTS (SELECT 1 FROM concord.approval_types AS t
                              WHERE t.name = coalesce(answer ->> 'approval_type', 'standard'))) THEN
        RETURN format('approval_type %s is not a registered approval type',
                      coalesce(answer -> 'approval_type', '"standard"'));
    END IF;
    RETURN NULL;
END
$$;

-- A declarative policy's answer when its predicate is neither true nor
-- false for this command (why says why): its on_unknown, else its decision.
CREATE OR REPLACE FUNCTION concord._policy_unknown(policy concord.policies, why text)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    decision text := coalesce(policy.on_unknown, policy.decision);
BEGIN
    RETURN jsonb_build_object(
        'decision', decision,
        'reasons', jsonb_build_array(format('predicate %s could not be decided for this command%s (%s)',
                                            policy.predicate, coalesce(': ' || why, ''),
                                            CASE WHEN policy.on_unknown IS NOT NULL THEN 'its on_unknown is '
                                                 ELSE 'it fails closed: ' END || decision)),
        'approval_type', CASE WHEN decision = 'require_approval' THEN coalesce(policy.approval_type, 'standard') END,
        'missing_fields', CASE WHEN decision = 'require_input' THEN to_jsonb(policy.missing_fields)
                               ELSE '[]'::jsonb END);
END
$$;

-- Runs one policy over the document; never raises for the policy's sake: a
-- policy that fails or answers nonsense denies (fail closed), a predicate that
-- fails on this command's input answers as one that cannot be decided.
CREATE OR REPLACE FUNCTION concord._run_policy(
    policy concord.policies, doc jsonb, ct concord.command_types
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    holds boolean;
    answer jsonb;
    problem text;
    -- the settings that carry who acts and what the kernel is doing: a policy
    -- function must leave them as it found them
    kernel_settings text[] := ARRAY['concord.actor', 'concord.reason', 'concord.submitting', 'concord.settling',
                                    'concord.asserted_by', 'concord.worker_run', 'concord.credential',
                                    'concord.project'];
    before text[];
    after text[];
BEGIN
    IF policy.kind = 'builtin' THEN
        BEGIN
            RETURN concord._builtin_policy(policy, doc, ct);
        EXCEPTION WHEN OTHERS THEN
            IF concord._policy_error_is_transient(SQLSTATE) THEN
                RAISE;
            END IF;
            RETURN jsonb_build_object(
                'decision', 'deny',
                'reasons', jsonb_build_array(format('built-in policy %s failed on this command: %s',
                                                    policy.name, SQLERRM)));
        END;
    ELSIF policy.kind = 'declarative' THEN
        -- silent: missing fields and type mismatches give NULL, not errors;
        -- registration proved every variable is bound. What silent does not
        -- cover (a date compared with a time zone, a nesting too deep to
        -- walk) leaves the predicate undecided too.
        BEGIN
            holds := jsonb_path_match(doc, policy.predicate, policy.vars, true);
        EXCEPTION WHEN OTHERS THEN
            IF concord._policy_error_is_transient(SQLSTATE) THEN
                RAISE;
            END IF;
            RETURN concord._policy_unknown(policy, SQLERRM);
        END;
        IF holds IS NULL THEN
            RETURN concord._policy_unknown(policy, null);
        ELSIF holds THEN
            RETURN jsonb_build_object(
                'decision', policy.decision,
                'reasons', CASE WHEN cardinality(policy.reasons) > 0 THEN to_jsonb(policy.reasons)
                                ELSE jsonb_build_array(format('%s holds', policy.predicate)) END,
                'approval_type', policy.approval_type,
                'missing_fields', to_jsonb(policy.missing_fields));
        END IF;
        RETURN '{"decision": "allow"}'::jsonb;
    END IF;
    -- executable (checked again: the function may have changed owner since)
    IF to_regprocedure(policy.function_name) IS NULL
       OR NOT concord._policy_function_is_trusted(to_regprocedure(policy.function_name)) THEN
        RETURN jsonb_build_object(
            'decision', 'deny',
            'reasons', jsonb_build_array(format('policy function %s is missing or no longer trusted to run '
                                                'with Concord''s rights', policy.function_name)));
    END IF;
    before := ARRAY(SELECT coalesce(current_setting(n.name, true), '')
                    FROM unnest(kernel_settings) WITH ORDINALITY AS n (name, i) ORDER BY n.i);
    BEGIN
        EXECUTE format('SELECT %s($1, $2)', policy.function_name::regprocedure::regproc)
        INTO answer USING doc, doc -> 'context';
    EXCEPTION WHEN OTHERS THEN
        IF concord._policy_error_is_transient(SQLSTATE) THEN
            RAISE;
        END IF;
        RETURN jsonb_build_object(
            'decision', 'deny',
            'reasons', jsonb_build_array(format('policy function %s failed: %s', policy.function_name, SQLERRM)));
    END;
    after := ARRAY(SELECT coalesce(current_setting(n.name, true), '')
                   FROM unnest(kernel_settings) WITH ORDINALITY AS n (name, i) ORDER BY n.i);
    IF after IS DISTINCT FROM before THEN
        -- put them back (concord.project is the session's choice), then deny:
        -- a policy that speaks for the kernel is not to be believed
        FOR i IN 1 .. cardinality(kernel_settings) LOOP
            PERFORM set_config(kernel_settings[i], before[i], kernel_settings[i] <> 'concord.project');
        END LOOP;
        RETURN jsonb_build_object(
            'decision', 'deny',
            'reasons', jsonb_build_array(format('policy function %s changed Concord''s own settings (who acts, '
                                                'what the kernel is doing): refused', policy.function_name)));
    END IF;
    problem := concord._policy_answer_problem(answer);
    IF problem IS NOT NULL THEN
        RETURN jsonb_build_object(
            'decision', 'deny',
            'reasons', jsonb_build_array(format(
                'policy function %s answered %s: %s; expected {"decision": allow|deny|require_input|'
                'require_approval, "reasons": [...], "approval_type": a registered type, "missing_fields": [...]}',
                policy.function_name, left(coalesce(answer::text, 'NULL'), 200), problem)));
    END IF;
    RETURN jsonb_build_object(
        -- the decision names the code that made it, not only the spec
        'checksum', (SELECT md5(policy.checksum || ':' || p.proowner::regrole::text || ':' || p.prosecdef::text
                                || ':' || p.prosrc)
                     FROM pg_catalog.pg_proc AS p WHERE p.oid = to_regprocedure(policy.function_name)),
        'decision', answer ->> 'decision',
        'reasons', CASE WHEN answer ->> 'decision' <> 'allow'
                             AND coalesce(jsonb_array_length(answer -> 'reasons'), 0) = 0
                        THEN jsonb_build_array(format('policy %s: %s', policy.name, answer ->> 'decision'))
                        ELSE coalesce(answer -> 'reasons', '[]') END,
        'approval_type', CASE WHEN answer ->> 'decision' = 'require_approval'
                              THEN coalesce(answer ->> 'approval_type', 'standard') END,
        'missing_fields', coalesce(answer -> 'missing_fields', '[]'));
END
$$;

-- The document every policy sees (spec 21): the command, its context and who
-- asked (organisation, project, teams and roles: sql/governance/requesters.sql).
CREATE OR REPLACE FUNCTION concord._policy_document(c concord.commands, ct concord.command_types)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'command_id', c.command_id,
        'command_type', c.command_type,
        'payload', c.payload,
        'requested_by', c.requested_by,
        'requester', concord._requester_profile(c),
        'project_id', c.project_id,
        'ingress', c.ingress,
        'risk_level', ct.risk_level,
        'context', c.context);
END
$$;

-- Why policies cannot read the document, or NULL: a payload or context
-- nested more than 256 levels deep. Walking one (a path with .**, a function
-- that recurses) could exhaust the stack, an error no policy could answer, so
-- every policy denies it, recorded like any other decision. The walk here
-- stops at the limit.
CREATE OR REPLACE FUNCTION concord._policy_document_problem(doc jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF jsonb_path_exists(doc, 'strict $.payload.**{257}') THEN
        RETURN 'the payload is nested more than 256 levels deep; policies read at most 256 levels';
    ELSIF jsonb_path_exists(doc, 'strict $.context.**{257}') THEN
        RETURN 'the context is nested more than 256 levels deep; policies read at most 256 levels';
    END IF;
    RETURN NULL;
END
$$;

-- The payload field an approval type reads its approver from (its path
-- inside the payload, array steps and filters left out), or NULL when it
-- does not read the payload.
CREATE OR REPLACE FUNCTION concord._approver_field(t concord.approval_types)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF t.approver_path IS NULL OR NOT t.approver_path::text ~ '^(strict |lax )?\$\."payload"\.' THEN
        RETURN NULL;
    END IF;
    RETURN regexp_replace(regexp_replace(regexp_replace(
        t.approver_path::text, '^(strict |lax )?\$\."payload"\.', ''), '\[[^]]*\]|[[:space:]]*\?.*$', '', 'g'),
        '"', '', 'g');
END
$$;

-- Who may decide an approval of type t for the command described by doc:
-- {approvers: [...], team: ...}, or NULL when a path finds nobody.
CREATE OR REPLACE FUNCTION concord._resolve_approvers(t concord.approval_types, doc jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    people text[];
BEGIN
    IF t.approver_principals IS NOT NULL THEN
        RETURN jsonb_build_object('approvers', to_jsonb(t.approver_principals), 'team', null);
    ELSIF t.approver_team IS NOT NULL THEN
        RETURN jsonb_build_object('approvers', '[]'::jsonb, 'team', t.approver_team);
    END IF;
    -- every item the path finds ($.payload.approvers[*] finds several), and
    -- the strings of an array it finds
    people := ARRAY(
        SELECT DISTINCT btrim(v.item #>> '{}')
        FROM jsonb_path_query(doc, t.approver_path, '{}', true) AS f (found)
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE jsonb_typeof(f.found) WHEN 'array' THEN f.found ELSE jsonb_build_array(f.found) END) AS v (item)
        WHERE jsonb_typeof(v.item) = 'string' AND btrim(v.item #>> '{}') <> ''
        ORDER BY 1);
    IF cardinality(people) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('approvers', to_jsonb(people), 'team', null);
END
$$;

-- Evaluates every policy of command c (spec 21) and combines the decisions:
-- deny > require_input > require_approval > allow. Reads, never writes.
-- Returns NULL when the type has no policies, else
-- {evaluation_id, decision, reasons, missing_fields, approval_types,
--  approvers: {type: {approvers, team}}, policies: [...], inputs_digest}.
-- One pass over the policies: this runs inside every governed submit.
CREATE OR REPLACE FUNCTION concord._evaluate(c concord.commands, ct concord.command_types)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    names text[] := concord._policies_for(c, ct);
    doc jsonb;
    outcome jsonb;
    results jsonb[] := '{}'::jsonb[];
    best integer := 0;
    decision text;
    reasons jsonb := '[]'::jsonb;
    missing jsonb := '[]'::jsonb;
    approval_names text[] := '{}'::text[];
    approvers jsonb := '{}'::jsonb;
    t concord.approval_types%ROWTYPE;
    who jsonb;
    lacking text[];
    unapprovable text[] := '{}'::text[];
    unreadable text;
BEGIN
    IF cardinality(names) = 0 THEN
        RETURN NULL;
    END IF;
    doc := concord._policy_document(c, ct);
    unreadable := concord._policy_document_problem(doc);
    -- Every policy in one statement (the answers laid over defaults), the
    -- strongest decision with them.
    SELECT coalesce(array_agg(o.result ORDER BY o.position), '{}'::jsonb[]), coalesce(max(o.rank), 0)
    INTO results, best
    FROM (
        SELECT
            n.position,
            jsonb_build_object('policy', p.name, 'version', p.version, 'checksum', p.checksum)
            || x.outcome AS result,
            CASE x.outcome ->> 'decision' WHEN 'deny' THEN 3 WHEN 'require_input' THEN 2
                                         WHEN 'require_approval' THEN 1 ELSE 0 END AS rank
        FROM unnest(names) WITH ORDINALITY AS n (name, position)
        INNER JOIN concord.policies AS p ON p.name = n.name
        CROSS JOIN LATERAL (
            SELECT '{"reasons": [], "approval_type": null, "missing_fields": []}'::jsonb
                   || CASE WHEN NOT concord._policy_covers(p, c.project_id)
                           -- named by a shared type, kept by another organisation or project
                           THEN jsonb_build_object('decision', 'allow', 'reasons',
                                                   jsonb_build_array('the policy governs another organisation '
                                                                     'or project'))
                           WHEN unreadable IS NULL THEN concord._run_policy(p, doc, ct)
                           ELSE jsonb_build_object('decision', 'deny', 'reasons', jsonb_build_array(unreadable))
                      END AS outcome
        ) AS x
    ) AS o;
    decision := (ARRAY['allow', 'require_approval', 'require_input', 'deny'])[best + 1];
    -- What the policies with the strongest decision said (nothing to gather
    -- when every policy allows).
    IF best > 0 THEN
        FOREACH outcome IN ARRAY results LOOP
            IF outcome ->> 'decision' = decision THEN
                reasons := reasons || (outcome -> 'reasons');
                missing := missing || (outcome -> 'missing_fields');
                IF outcome ->> 'approval_type' IS NOT NULL
                   AND NOT outcome ->> 'approval_type' = ANY (approval_names) THEN
                    approval_names := approval_names || (outcome ->> 'approval_type');
                END IF;
            END IF;
        END LOOP;
    END IF;
    IF cardinality(results) < cardinality(names) THEN
        -- A name with no policy row (a type written with triggers off, or
        -- named before 0002 in a way no placeholder could take): deny.
        IF best < 3 THEN
            reasons := '[]'::jsonb;
            missing := '[]'::jsonb;
            approval_names := '{}'::text[];
        END IF;
        decision := 'deny';
        reasons := reasons || to_jsonb(format('command type %s names policies that are not registered: %s',
            ct.command_type, (SELECT string_agg(n.name, ', ') FROM unnest(names) AS n (name)
                              WHERE NOT EXISTS (SELECT 1 FROM concord.policies AS p WHERE p.name = n.name))));
    END IF;

    -- Spec 81.2: an approval is asked only with everything its type needs.
    IF decision = 'require_approval' THEN
        lacking := '{}'::text[];
        FOR t IN SELECT x.* FROM concord.approval_types AS x WHERE x.name = ANY (approval_names) ORDER BY x.name LOOP
            lacking := lacking || concord._missing_fields(c.payload, t.required_fields);
            who := concord._resolve_approvers(t, doc);
            IF who IS NULL AND concord._approver_field(t) IS NOT NULL THEN
                -- the requester can name the approver: ask for that field
                lacking := lacking || concord._approver_field(t);
                reasons := reasons || to_jsonb(format('approval type %s finds its approver at %s, which is empty',
                                                      t.name, t.approver_path));
            ELSIF who IS NULL THEN
                -- the context cannot change after submission: nobody ever could
                unapprovable := unapprovable || format(
                    'approval type %s finds its approver at %s, which is empty', t.name, t.approver_path);
            ELSIF who ->> 'team' IS NULL AND NOT EXISTS (
                      SELECT 1 FROM jsonb_array_elements_text(who -> 'approvers') AS a (p)
                      WHERE a.p <> c.requested_by) THEN
                -- Only the requester could decide, and nobody approves their
                -- own command.
                unapprovable := unapprovable || format(
                    'nobody but the requester %s may approve it (approval type %s), and nobody approves their '
                    'own command', c.requested_by, t.name);
            ELSE
                approvers := approvers || jsonb_build_object(t.name, who);
            END IF;
        END LOOP;
        IF cardinality(unapprovable) > 0 THEN
            -- it could never be approved: say so now rather than wait forever
            decision := 'deny';
            reasons := to_jsonb(unapprovable);
            lacking := '{}'::text[];
            approvers := '{}'::jsonb;
            approval_names := '{}'::text[];
        END IF;
        IF cardinality(lacking) > 0 THEN
            decision := 'require_input';
            reasons := reasons || to_jsonb(format('the approval needs: %s', array_to_string(
                ARRAY(SELECT DISTINCT l.f FROM unnest(lacking) AS l (f) ORDER BY 1), ', ')));
            missing := to_jsonb(lacking);
            approvers := '{}'::jsonb;
            approval_names := '{}'::text[];
        END IF;
    END IF;
    IF decision = 'require_input' AND best = 2 THEN
        -- Ask once for everything: the fields the approvals still to come
        -- will need too (spec 81.2), not in a second round.
        missing := missing || coalesce((
            SELECT jsonb_agg(f.field)
            FROM concord.approval_types AS x
            CROSS JOIN LATERAL unnest(
                concord._missing_fields(c.payload, x.required_fields)
                || CASE WHEN concord._approver_field(x) IS NOT NULL AND concord._resolve_approvers(x, doc) IS NULL
                        THEN ARRAY[concord._approver_field(x)] ELSE '{}'::text[] END) AS f (field)
            WHERE x.name IN (SELECT r.result ->> 'approval_type' FROM unnest(results) AS r (result)
                             WHERE r.result ->> 'decision' = 'require_approval')), '[]'::jsonb);
    END IF;
    IF decision = 'require_input' THEN
        missing := to_jsonb(ARRAY(SELECT DISTINCT m.f FROM jsonb_array_elements_text(missing) AS m (f) ORDER BY 1));
    END IF;

    RETURN jsonb_build_object(
        'evaluation_id', gen_random_uuid(),
        'decision', decision,
        'reasons', reasons,
        'missing_fields', missing,
        'approval_types', to_jsonb(approval_names),
        'approvers', approvers,
        'policies', to_jsonb(results),
        'inputs_digest', md5(doc::text));
END
$$;

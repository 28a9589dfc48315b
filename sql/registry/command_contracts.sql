-- The contract a command is judged under (issue 14 section 3, spec 106.5):
-- resolved from the registry when it is submitted, recorded on the command
-- (commands.contract_version_id) and read from there ever after, so a
-- version bound later never changes how an existing command is judged.

-- The command type contract of registry version version_id, as a
-- command_types row: what a command recorded under it is judged by.
CREATE OR REPLACE FUNCTION concord._command_contract(version_id uuid)
RETURNS concord.command_types
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    doc jsonb;
    number text;
BEGIN
    SELECT v.manifest, v.version::text INTO doc, number
    FROM concord.registry_versions AS v WHERE v.version_id = _command_contract.version_id;
    IF doc IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN concord._command_type_row(doc, number);
END
$$;

-- The contract command c is judged under: the version it recorded at
-- submission, else (a command from before the registry, not yet adopted) its
-- type's catalog row. A version bound later never changes it.
CREATE OR REPLACE FUNCTION concord._command_contract_of(c concord.commands)
RETURNS concord.command_types
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ct concord.command_types;
BEGIN
    IF c.contract_version_id IS NOT NULL THEN
        ct := concord._command_contract(c.contract_version_id);
        IF ct.command_type IS NOT NULL THEN
            RETURN ct;
        END IF;
    END IF;
    SELECT * INTO ct FROM concord.command_types AS x WHERE x.command_type = c.command_type;
    RETURN ct;
END
$$;

-- The subject a command resolves its contract for: its requester in its
-- project, and the workflow type its context says it belongs to. No other
-- context key counts: a command's context is the caller's, and who it is
-- for comes from the command's own columns.
CREATE OR REPLACE FUNCTION concord._command_subject(c concord.commands)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    RETURN concord._registry_subject(c.requested_by, c.project_id, (
        SELECT coalesce(jsonb_object_agg(k.key, k.value), '{}'::jsonb)
        FROM jsonb_each(CASE WHEN jsonb_typeof(c.context) = 'object' THEN c.context ELSE '{}' END) AS k (key, value)
        -- an agent's role and name come from its run (requested_by agent:<run>),
        -- never from a context a caller wrote (_registry_subject refuses them)
        WHERE k.key = 'workflow_type'
          AND jsonb_typeof(k.value) = 'string' AND btrim(k.value #>> '{}') <> ''));
END
$$;

-- Resolves the contract of new command c (spec 112): its command type's
-- version bound for its subject. CN009 for an unknown type; CN016 when the
-- type resolves to nothing usable (retired, or no binding). A type with a
-- catalog row but no registry entity yet (a database between its upgrade
-- and the adoption of its catalogs) is judged by its row, recording no
-- version. Answers the contract as a command_types row and its version.
CREATE OR REPLACE FUNCTION concord._resolve_command_contract(
    c concord.commands, OUT ct concord.command_types, OUT version_id uuid
)
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    answer jsonb;
BEGIN
    -- A command's own row records the version it used (contract_version_id:
    -- registry_version_usage counts it as command_proposed), so a usage row is
    -- written only for what that row cannot tell: a deprecated version
    -- resolved, a retired one refused.
    answer := concord._registry_resolve(
        'command_type', c.command_type, concord._command_subject(c), NULL, false);
    IF (answer ->> 'deprecated')::boolean OR answer ->> 'reason' = 'retired' THEN
        PERFORM concord._registry_record_usage(
            answer, jsonb_build_object('command_id', c.command_id),
            CASE WHEN (answer ->> 'deprecated')::boolean THEN 'deprecated_version_resolved'
                 ELSE 'retired_version_refused' END);
    END IF;
    IF (answer ->> 'resolved')::boolean THEN
        version_id := (answer ->> 'version_id')::uuid;
        ct := concord._command_type_row(answer -> 'manifest', answer ->> 'version');
        RETURN;
    END IF;
    IF answer ->> 'reason' = 'unknown_entity' THEN
        SELECT * INTO ct FROM concord.command_types AS x WHERE x.command_type = c.command_type;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN009',
                CONSTRAINT = 'command_type_is_registered',
                TABLE = 'commands',
                MESSAGE = format('unknown command type %L', c.command_type),
                HINT = 'Register it first with concord.register_command_type(spec).';
        END IF;
        RETURN;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN016',
        CONSTRAINT = 'a_command_type_resolves_to_a_usable_contract',
        TABLE = 'commands',
        MESSAGE = format('command type %s has no usable contract: %s', c.command_type,
                         CASE answer ->> 'reason'
                             WHEN 'retired' THEN format('version %s is retired', answer ->> 'version')
                             ELSE 'no version is bound for this requester and project' END),
        DETAIL = coalesce((SELECT string_agg(format('- %s %s (%s): %s', e.item ->> 'scope', e.item ->> 'target',
                                           e.item ->> 'version', e.item ->> 'why'), E'\n')
                  FROM jsonb_array_elements(answer -> 'explanation') AS e (item)), 'No binding is active.'),
        HINT = 'Bind a published version of it (concord.bind_registry_version), or register it again '
               '(concord.register_command_type).';
END
$$;

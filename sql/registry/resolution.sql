-- Resolution (spec 106.4, 112): which version of an entity is in force for a
-- subject in an environment. The most specific binding wins, in the order
-- user, team, tenant, workflow_type, command_type, agent_role, agent_name,
-- app, environment, global (LaunchDarkly/Unleash: the most specific targeting
-- rule wins). Within a scope a canary is tried before the pinned binding; a
-- canary takes a subject by a deterministic hash of the binding and the
-- subject, so a subject always lands on the same side (sticky rollout).
--
-- Ties cannot happen: a unique index allows one active pinned and one active
-- canary binding per entity, environment, scope and target; when several
-- targets of one scope match (a subject in two teams) they are tried in the
-- order of their target's name, then the binding's id.

-- A scope's rank in the precedence of spec 106.4 (1: most specific).
CREATE OR REPLACE FUNCTION concord._registry_scope_rank(scope text)
RETURNS integer
LANGUAGE sql
IMMUTABLE
-- no SET clause, so that the planner inlines it (its callers pin search_path)
AS $$
    SELECT array_position(
        ARRAY['user', 'team', 'tenant', 'workflow_type', 'command_type', 'agent_role', 'agent_name', 'app',
              'environment', 'global'],
        scope)
$$;

CREATE OR REPLACE FUNCTION concord.registry_subject_bucket(binding_id uuid, subject text)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    h bytea;
BEGIN
    IF binding_id IS NULL OR subject IS NULL THEN
        RETURN NULL;
    END IF;
    h := sha256(convert_to(binding_id::text || ':' || subject, 'UTF8'));
    -- the first four bytes as an unsigned integer: no sign bit to fold
    RETURN ((get_byte(h, 0)::bigint * 16777216 + get_byte(h, 1) * 65536 + get_byte(h, 2) * 256
             + get_byte(h, 3)) % 10000)::integer;
END
$$;

COMMENT ON FUNCTION concord.registry_subject_bucket(uuid, text) IS
'The bucket (0-9999) a subject (a principal, organisation or project name, as the canary''s '
'rollout_config.subject says) falls in for a canary binding: the first four bytes of '
'sha256(binding_id:subject) modulo 10000. A canary of percent p takes the subject when its '
'bucket is below p*100, so the same subject always lands on the same side of the same canary.';

-- Whether the caller may see entities of organisation org_id: platform
-- entities (NULL) are everyone's; an organisation's are its members' (and a
-- superuser's, worker's or operator's).
CREATE OR REPLACE FUNCTION concord._registry_org_visible(org_id uuid)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    RETURN org_id IS NULL OR concord._sees_all() OR concord._is_operator()
        OR EXISTS (SELECT 1 FROM concord.projects AS p
                   WHERE p.org_id = _registry_org_visible.org_id AND p.project_id = ANY (concord._visible_projects()));
END
$$;

-- Whether the caller may see a binding's target: a binding of a platform
-- entity may name another organisation's tenant, team, project or member,
-- and those names are that organisation's business (spec 106.5: no other
-- tenant's bindings). Scopes that name no one (workflow_type, command_type,
-- agent_role, agent_name, environment, global) are everyone's.
-- SECURITY DEFINER and granted to the views' readers, as the row-security
-- helpers are: the views call it in the reader's name.
CREATE OR REPLACE FUNCTION concord._registry_binding_visible(
    binding_scope text, binding_target text
)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    orgs text[];
BEGIN
    IF binding_scope NOT IN ('user', 'team', 'tenant', 'app') OR concord._sees_all() OR concord._is_operator() THEN
        RETURN true;
    END IF;
    orgs := ARRAY(SELECT o.name FROM concord.organisations AS o
                  WHERE o.org_id IN (SELECT p.org_id FROM concord.projects AS p
                                     WHERE p.project_id = ANY (concord._visible_projects())));
    RETURN CASE binding_scope
        WHEN 'tenant' THEN binding_target = ANY (orgs)
        -- org/team and org/project
        WHEN 'team' THEN split_part(binding_target, '/', 1) = ANY (orgs)
        WHEN 'app' THEN split_part(binding_target, '/', 1) = ANY (orgs)
        ELSE binding_target IS NOT DISTINCT FROM concord._principal()
             OR EXISTS (SELECT 1 FROM concord.memberships AS m
                        INNER JOIN concord.principals AS x ON m.principal_id = x.principal_id
                        INNER JOIN concord.organisations AS o ON m.org_id = o.org_id
                        WHERE x.name = binding_target AND o.name = ANY (orgs))
    END;
END
$$;

-- Records one usage row of a resolution's answer (nothing for an entity
-- that is unknown, or unbound with no version to name).
CREATE OR REPLACE FUNCTION concord._registry_record_usage(
    answer jsonb, usage jsonb, usage_type text
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF answer ->> 'entity_id' IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO concord.registry_usage (
        version_id, entity_id, agent_run_id, swarm_run_id, command_id, workflow_run_id, usage_type, payload
    ) VALUES (
        (answer ->> 'version_id')::uuid, (answer ->> 'entity_id')::uuid,
        (usage ->> 'agent_run_id')::uuid, (usage ->> 'swarm_run_id')::uuid, (usage ->> 'command_id')::uuid,
        usage ->> 'workflow_run_id', usage_type,
        jsonb_strip_nulls(jsonb_build_object(
            'entity_type', answer ->> 'entity_type', 'name', answer ->> 'name', 'version', answer ->> 'version',
            'binding_id', answer #>> '{binding,binding_id}', 'binding_scope', answer #>> '{binding,binding_scope}',
            'environment', answer ->> 'environment', 'reason', answer ->> 'reason'))
        || coalesce(usage -> 'payload', '{}')
    );
END
$$;

-- The usage rows of one resolution's answer: usage_type (else
-- usage.usage_type, else contract_resolved) for a resolved version, and
-- deprecated_version_resolved besides for a deprecated one;
-- retired_version_refused for a refusal of a retired version; nothing for
-- an unknown or unbound entity.
CREATE OR REPLACE FUNCTION concord._registry_note_usage(answer jsonb, usage jsonb, usage_type text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    usage := coalesce(usage, '{}');
    IF (answer ->> 'resolved')::boolean THEN
        PERFORM concord._registry_record_usage(
            answer, usage, coalesce(usage_type, usage ->> 'usage_type', 'contract_resolved'));
        IF (answer ->> 'deprecated')::boolean THEN
            PERFORM concord._registry_record_usage(answer, usage, 'deprecated_version_resolved');
        END IF;
    ELSIF answer ->> 'reason' = 'retired' AND answer ->> 'version_id' IS NOT NULL THEN
        PERFORM concord._registry_record_usage(answer, usage, 'retired_version_refused');
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord._registry_resolve(
    entity_type text, name text, subject jsonb, environment text DEFAULT NULL,
    record_usage boolean DEFAULT TRUE, usage jsonb DEFAULT '{}'
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
    env text := coalesce(environment, (SELECT r.environment FROM concord.registry_environment AS r), 'prod');
    who jsonb := CASE WHEN jsonb_typeof(subject) = 'object' THEN subject ELSE '{}' END;
    teams text[];
    c record;
    explanation jsonb := '[]'::jsonb;
    why text;
    matched boolean;
    bucket integer;
    keyed text;
    refused_retired uuid;
    chosen record;
    found_one boolean := false;
    answer jsonb;
BEGIN
    usage := coalesce(usage, '{}');
    SELECT * INTO e FROM concord.registry_entities AS x
    WHERE x.entity_type = _registry_resolve.entity_type AND x.name = _registry_resolve.name;
    -- another organisation's entity is not admitted to exist for this subject
    IF NOT FOUND OR (e.org_id IS NOT NULL AND who ? 'tenant'
                     AND who ->> 'tenant' IS DISTINCT FROM (SELECT o.name FROM concord.organisations AS o
                                                             WHERE o.org_id = e.org_id)) THEN
        RETURN jsonb_build_object('resolved', false, 'reason', 'unknown_entity', 'entity_type', entity_type,
                                  'name', name, 'environment', env, 'explanation', '[]'::jsonb);
    END IF;
    teams := ARRAY(SELECT t.item FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(who -> 'teams') = 'array' THEN who -> 'teams' ELSE '[]' END) AS t (item));
    -- the candidates: bindings whose target is this subject's for their scope,
    -- in the order they are tried; bindings disabled by a retirement are kept
    -- so the answer can say the version was retired
    FOR c IN
        SELECT b.registry_binding_id, b.binding_scope, b.binding_target, b.environment, b.status,
               b.rollout_strategy, b.rollout_config, b.disabled_reason, v.version_id, v.version::text AS version,
               v.status AS version_status
        FROM concord.registry_bindings AS b
        INNER JOIN concord.registry_versions AS v ON b.version_id = v.version_id
        WHERE b.entity_id = e.entity_id
          AND (b.status = 'active' OR v.status = 'retired')
          AND CASE b.binding_scope
                  WHEN 'global' THEN true
                  WHEN 'environment' THEN b.binding_target = b.environment
                  WHEN 'team' THEN b.binding_target = ANY (teams)
                  ELSE b.binding_target = who ->> b.binding_scope
              END
        ORDER BY concord._registry_scope_rank(b.binding_scope), b.environment <> env, b.status,
                 b.rollout_strategy, b.binding_target, b.registry_binding_id
    LOOP
        matched := false;
        bucket := NULL;
        IF c.environment <> env THEN
            why := format('bound in environment %s, not %s', c.environment, env);
        ELSIF c.status <> 'active' THEN
            why := format('disabled: %s', c.disabled_reason);
            refused_retired := coalesce(refused_retired, c.version_id);
        ELSIF c.version_status = 'retired' THEN
            why := format('version %s is retired: it never resolves', c.version);
            refused_retired := coalesce(refused_retired, c.version_id);
        ELSIF c.version_status NOT IN ('published', 'deprecated') THEN
            why := format('version %s is %s: only a published or deprecated version resolves', c.version,
                          c.version_status);
        ELSIF c.rollout_strategy = 'canary' THEN
            keyed := coalesce(c.rollout_config ->> 'subject', 'user');
            bucket := concord.registry_subject_bucket(c.registry_binding_id, who ->> keyed);
            IF bucket IS NULL THEN
                why := format('canary by %s, and the subject names no %s', keyed, keyed);
            ELSIF bucket < (c.rollout_config ->> 'percent')::numeric * 100 THEN
                matched := true;
                why := format('canary: %s %s is in bucket %s, inside %s%%', keyed, who ->> keyed, bucket,
                              c.rollout_config ->> 'percent');
            ELSE
                why := format('canary: %s %s is in bucket %s, outside %s%%', keyed, who ->> keyed, bucket,
                              c.rollout_config ->> 'percent');
            END IF;
        ELSE
            matched := true;
            why := format('pinned at %s %s', c.binding_scope, c.binding_target);
        END IF;
        IF matched AND c.version_status = 'deprecated' THEN
            why := why || format(' (version %s is deprecated)', c.version);
        END IF;
        explanation := explanation || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
            'binding_id', c.registry_binding_id, 'scope', c.binding_scope, 'target', c.binding_target,
            'environment', c.environment, 'strategy', c.rollout_strategy, 'version', c.version,
            'version_status', c.version_status, 'bucket', bucket, 'matched', matched, 'why', why)));
        IF matched THEN
            chosen := c;
            found_one := true;
            EXIT;
        END IF;
    END LOOP;
    IF NOT found_one THEN
        -- a retired entity (no version left to resolve) is refused as retired too
        IF refused_retired IS NULL AND NOT EXISTS (
               SELECT 1 FROM concord.registry_versions AS v
               WHERE v.entity_id = e.entity_id AND v.status IN ('published', 'deprecated')) THEN
            SELECT v.version_id INTO refused_retired FROM concord.registry_versions AS v
            WHERE v.entity_id = e.entity_id AND v.status = 'retired' ORDER BY v.version DESC LIMIT 1;
        END IF;
        answer := jsonb_build_object(
            'resolved', false, 'reason', CASE WHEN refused_retired IS NULL THEN 'no_binding' ELSE 'retired' END,
            'entity_id', e.entity_id, 'entity_type', e.entity_type, 'name', e.name, 'environment', env,
            'version_id', refused_retired,
            'version', (SELECT v.version::text FROM concord.registry_versions AS v
                        WHERE v.version_id = refused_retired),
            'explanation', explanation);
        IF record_usage THEN
            PERFORM concord._registry_note_usage(answer, usage, NULL);
        END IF;
        RETURN answer;
    END IF;
    answer := jsonb_build_object(
        'resolved', true, 'entity_id', e.entity_id, 'entity_type', e.entity_type, 'name', e.name,
        'org_id', e.org_id, 'version_id', chosen.version_id, 'version', chosen.version,
        'status', chosen.version_status, 'deprecated', chosen.version_status = 'deprecated',
        'manifest', (SELECT v.manifest FROM concord.registry_versions AS v WHERE v.version_id = chosen.version_id),
        'checksum', (SELECT v.checksum FROM concord.registry_versions AS v WHERE v.version_id = chosen.version_id),
        'environment', env,
        'binding', jsonb_build_object(
            'binding_id', chosen.registry_binding_id, 'binding_scope', chosen.binding_scope,
            'binding_target', chosen.binding_target, 'environment', chosen.environment,
            'rollout_strategy', chosen.rollout_strategy, 'rollout_config', chosen.rollout_config),
        'explanation', explanation);
    IF record_usage THEN
        PERFORM concord._registry_note_usage(answer, usage, NULL);
    END IF;
    RETURN answer;
END
$$;

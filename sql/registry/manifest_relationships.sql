-- The edges of the capability graph a manifest declares (spec 104, 106.1,
-- 108.2): derived per registry type from its fields, plus its explicit
-- "relationships" list. Pure functions of the manifest: they read whatever
-- shape they are given (a manifest not yet checked, a legacy spec whose
-- names are not identifiers) and skip what is not a reference, so a bad
-- manifest yields fewer edges, never an error.

-- The references in value: a name, {name, version?, required?}, or an array
-- of those. A string reference allows any version. ROWS: a manifest field
-- holds a few references; the default guess of 1000 made the planner cost
-- _registry_manifest_relationships past jit_above_cost, and compiling it
-- took ~50 ms of every call.
CREATE OR REPLACE FUNCTION concord._registry_refs(value jsonb)
RETURNS TABLE (name text, version_constraint text, required boolean)
LANGUAGE sql
IMMUTABLE
ROWS 4
SET search_path = concord, pg_temp
AS $$
    SELECT
        CASE jsonb_typeof(r.item) WHEN 'string' THEN r.item #>> '{}' ELSE r.item ->> 'name' END,
        CASE WHEN jsonb_typeof(r.item -> 'version') = 'string' THEN nullif(btrim(r.item ->> 'version'), '') END,
        CASE WHEN jsonb_typeof(r.item -> 'required') = 'boolean' THEN (r.item ->> 'required')::boolean END
    FROM jsonb_array_elements(
        CASE jsonb_typeof(value) WHEN 'array' THEN value ELSE jsonb_build_array(value) END
    ) AS r (item)
    WHERE (jsonb_typeof(r.item) = 'string' AND btrim(r.item #>> '{}') <> '')
       OR (jsonb_typeof(r.item) = 'object' AND jsonb_typeof(r.item -> 'name') = 'string'
           AND btrim(r.item ->> 'name') <> '')
$$;

-- The connector operations in value: "connector.operation" (split at the
-- first dot) or {connector, operation, version?, required?}, or an array.
CREATE OR REPLACE FUNCTION concord._registry_connector_operations(value jsonb)
RETURNS TABLE (connector text, operation text, version_constraint text, required boolean)
LANGUAGE sql
IMMUTABLE
ROWS 4
SET search_path = concord, pg_temp
AS $$
    SELECT o.connector, o.operation, o.version_constraint, o.required
    FROM (
        SELECT
            CASE jsonb_typeof(r.item)
                WHEN 'string' THEN substring(r.item #>> '{}' FROM '^([^.]+)\.')
                WHEN 'object' THEN CASE WHEN jsonb_typeof(r.item -> 'connector') = 'string'
                                        THEN r.item ->> 'connector' END
            END AS connector,
            CASE jsonb_typeof(r.item)
                WHEN 'string' THEN substring(r.item #>> '{}' FROM '^[^.]+\.(.+)$')
                WHEN 'object' THEN CASE WHEN jsonb_typeof(r.item -> 'operation') = 'string'
                                        THEN r.item ->> 'operation' END
            END AS operation,
            CASE WHEN jsonb_typeof(r.item -> 'version') = 'string'
                 THEN nullif(btrim(r.item ->> 'version'), '') END AS version_constraint,
            CASE WHEN jsonb_typeof(r.item -> 'required') = 'boolean'
                 THEN (r.item ->> 'required')::boolean END AS required
        FROM jsonb_array_elements(
            CASE jsonb_typeof(value) WHEN 'array' THEN value ELSE jsonb_build_array(value) END
        ) AS r (item)
    ) AS o
    WHERE btrim(o.connector) <> '' AND btrim(o.operation) <> ''
$$;

-- The elements of value when it is an array, else nothing.
CREATE OR REPLACE FUNCTION concord._registry_elements(value jsonb)
RETURNS SETOF jsonb
LANGUAGE sql
IMMUTABLE
ROWS 4
SET search_path = concord, pg_temp
AS $$
    SELECT e.item
    FROM jsonb_array_elements(CASE jsonb_typeof(value) WHEN 'array' THEN value ELSE '[]' END) AS e (item)
$$;

CREATE OR REPLACE FUNCTION concord._registry_manifest_relationships(
    entity_type text, manifest jsonb
)
RETURNS TABLE (
    relationship_type text,
    target_entity_type text,
    target_entity_name text,
    target_version_constraint text,
    required boolean,
    metadata jsonb
)
LANGUAGE sql
IMMUTABLE
ROWS 10
SET search_path = concord, pg_temp
AS $$
    WITH
    m AS (
        SELECT
            _registry_manifest_relationships.entity_type AS et,
            CASE WHEN jsonb_typeof(_registry_manifest_relationships.manifest) = 'object'
                 THEN _registry_manifest_relationships.manifest ELSE '{}' END AS doc
    ),
    -- (relationship type, target type, field holding references) per type
    plain (et, rtype, ttype, field) AS (
        VALUES
        ('command_type', 'requires_policy', 'policy', '{policies,required}'::text[]),
        ('command_type', 'requires_policy', 'policy', '{policy_checks}'),
        ('command_type', 'requires_approval_type', 'approval_type', '{approval,approval_type}'),
        ('command_type', 'requires_approval_type', 'approval_type', '{approval_type}'),
        ('command_type', 'produces_artifact', 'artifact_schema', '{artifacts,produces}'),
        ('command_type', 'reads_memory', 'memory_schema', '{memory,reads}'),
        ('command_type', 'writes_memory', 'memory_schema', '{memory,writes}'),
        ('command_type', 'uses_connector', 'connector', '{connector_requirements}'),
        ('command_type', 'compensated_by', 'command_type', '{compensation,command_type}'),
        ('skill', 'requires_policy', 'policy', '{policy,required_checks}'),
        ('skill', 'runs_evaluation_suite', 'evaluation_suite', '{evals,required}'),
        ('tool', 'creates_command_type', 'command_type', '{command_type}'),
        ('tool', 'produces_artifact', 'artifact_schema', '{artifact_types}'),
        ('tool', 'requires_policy', 'policy', '{policies}'),
        ('policy', 'requires_policy', 'policy', '{checks}'),
        ('policy', 'requires_approval_type', 'approval_type', '{approval_type}'),
        ('agent_role', 'uses_skill', 'skill', '{skills}'),
        ('agent_role', 'uses_tool', 'tool', '{tools}'),
        ('agent_role', 'uses_connector', 'connector', '{connectors}'),
        ('agent_role', 'spawns_agent_role', 'agent_role', '{subagent_roles}'),
        ('agent_role', 'reads_memory', 'memory_schema', '{memory_scope,read}'),
        ('agent_role', 'writes_memory', 'memory_schema', '{memory_scope,write}'),
        ('agent_role', 'reads_artifact', 'artifact_schema', '{artifact_scope,read}'),
        ('agent_role', 'produces_artifact', 'artifact_schema', '{artifact_scope,write}'),
        ('swarm_template', 'coordinated_by', 'agent_role', '{coordinator_role}'),
        ('swarm_template', 'spawns_agent_role', 'agent_role', '{child_roles}'),
        ('swarm_template', 'produces_artifact', 'artifact_schema', '{required_artifacts}'),
        ('swarm_template', 'runs_evaluation_suite', 'evaluation_suite', '{required_evaluations}'),
        ('workflow_type', 'allows_command_type', 'command_type', '{command_sequence}'),
        ('workflow_type', 'allows_command_type', 'command_type', '{allowed_command_types}'),
        ('workflow_type', 'requires_policy', 'policy', '{default_policies}'),
        ('workflow_type', 'spawns_agent_role', 'agent_role', '{default_agent_roles}'),
        ('workflow_type', 'uses_skill', 'skill', '{default_skills}'),
        ('workflow_type', 'uses_swarm_template', 'swarm_template', '{swarm_templates}'),
        ('workflow_type', 'produces_artifact', 'artifact_schema', '{artifact_expectations}')
    ),
    raw (rtype, ttype, target, version_constraint, required, metadata) AS (
        SELECT p.rtype, p.ttype, r.name, r.version_constraint, r.required, '{}'::jsonb
        FROM m
        INNER JOIN plain AS p ON m.et = p.et
        CROSS JOIN LATERAL concord._registry_refs(m.doc #> p.field) AS r
        UNION ALL
        -- "connector.operation" lists
        SELECT 'invokes_connector_operation', 'connector', o.connector, o.version_constraint, o.required,
               jsonb_build_object('operation', o.operation)
        FROM m
        CROSS JOIN LATERAL concord._registry_connector_operations(m.doc -> 'connector_operations') AS o
        WHERE m.et IN ('command_type', 'tool')
        UNION ALL
        -- a legacy tool's connector, and the capability it calls
        SELECT CASE WHEN jsonb_typeof(m.doc -> 'capability') = 'string' THEN 'invokes_connector_operation'
                    ELSE 'uses_connector' END,
               'connector', r.name, NULL, NULL,
               CASE WHEN jsonb_typeof(m.doc -> 'capability') = 'string'
                    THEN jsonb_build_object('operation', m.doc ->> 'capability') ELSE '{}' END
        FROM m
        CROSS JOIN LATERAL concord._registry_refs(m.doc -> 'connector') AS r
        WHERE m.et = 'tool' AND jsonb_typeof(m.doc -> 'connector') = 'string'
        UNION ALL
        -- a skill's tools and the command types they create
        SELECT x.rtype, x.ttype, y.target, x.version_constraint, NULL::boolean, '{}'::jsonb
        FROM m
        CROSS JOIN LATERAL concord._registry_elements(m.doc -> 'tools') AS t (item)
        CROSS JOIN LATERAL (VALUES
            ('uses_tool', 'tool', t.item -> 'name',
             CASE WHEN jsonb_typeof(t.item -> 'version') = 'string' THEN t.item ->> 'version' END),
            ('creates_command_type', 'command_type', t.item -> 'command_type', NULL)
        ) AS x (rtype, ttype, target_json, version_constraint)
        CROSS JOIN LATERAL (SELECT x.target_json #>> '{}' AS target) AS y
        WHERE m.et = 'skill' AND jsonb_typeof(x.target_json) = 'string' AND btrim(y.target) <> ''
        UNION ALL
        -- a skill's capabilities
        SELECT k.rtype, k.ttype, c.item ->> k.field,
               CASE WHEN jsonb_typeof(c.item -> 'version') = 'string' THEN c.item ->> 'version' END,
               NULL,
               CASE WHEN k.rtype = 'invokes_connector_operation'
                    THEN jsonb_build_object('operation', c.item ->> 'operation') ELSE '{}' END
        FROM m
        CROSS JOIN LATERAL concord._registry_elements(m.doc -> 'capabilities') AS c (item)
        INNER JOIN (VALUES
            ('connector_operation', 'invokes_connector_operation', 'connector', 'connector'),
            ('artifact_write', 'produces_artifact', 'artifact_schema', 'artifact_type'),
            ('artifact_read', 'reads_artifact', 'artifact_schema', 'artifact_type'),
            ('memory_read', 'reads_memory', 'memory_schema', 'memory_type'),
            ('memory_write', 'writes_memory', 'memory_schema', 'memory_type'),
            ('subagent_spawn', 'spawns_agent_role', 'agent_role', 'agent_role')
        ) AS k (capability, rtype, ttype, field) ON c.item ->> 'type' = k.capability
        WHERE m.et = 'skill'
          AND jsonb_typeof(c.item -> k.field) = 'string' AND btrim(c.item ->> k.field) <> ''
          AND (k.rtype <> 'invokes_connector_operation'
               OR (jsonb_typeof(c.item -> 'operation') = 'string' AND btrim(c.item ->> 'operation') <> ''))
        UNION ALL
        -- approval gates: an approval type's name, or {approval_type, ...}
        SELECT 'requires_approval_type', 'approval_type', r.name, r.version_constraint, r.required, '{}'
        FROM m
        CROSS JOIN LATERAL concord._registry_elements(m.doc -> 'approval_gates') AS g (item)
        CROSS JOIN LATERAL concord._registry_refs(
            CASE WHEN jsonb_typeof(g.item) = 'object' THEN g.item -> 'approval_type' ELSE g.item END
        ) AS r
        WHERE m.et IN ('swarm_template', 'workflow_type')
        UNION ALL
        -- a spec 67 swarm's agents name roles that need not be registered
        SELECT CASE WHEN a.n = 0 THEN 'coordinated_by' ELSE 'spawns_agent_role' END, 'agent_role',
               a.item ->> 'agent_role', NULL, false, '{}'
        FROM m
        CROSS JOIN LATERAL (
            SELECT 0::bigint AS n, m.doc -> 'coordinator' AS item
            UNION ALL
            SELECT e.n, e.item
            FROM jsonb_array_elements(
                CASE jsonb_typeof(m.doc -> 'agents') WHEN 'array' THEN m.doc -> 'agents' ELSE '[]' END
            ) WITH ORDINALITY AS e (item, n)
        ) AS a
        WHERE m.et = 'swarm_template'
          AND jsonb_typeof(a.item -> 'agent_role') = 'string' AND btrim(a.item ->> 'agent_role') <> ''
        UNION ALL
        -- the explicit edges
        SELECT e.item ->> 'type', e.item ->> 'target_type', e.item ->> 'target_name',
               CASE WHEN jsonb_typeof(e.item -> 'version') = 'string' THEN e.item ->> 'version' END,
               CASE WHEN jsonb_typeof(e.item -> 'required') = 'boolean'
                    THEN (e.item ->> 'required')::boolean END,
               CASE WHEN jsonb_typeof(e.item -> 'metadata') = 'object' THEN e.item -> 'metadata' ELSE '{}' END
        FROM m
        CROSS JOIN LATERAL concord._registry_elements(m.doc -> 'relationships') AS e (item)
        WHERE jsonb_typeof(e.item -> 'type') = 'string'
          AND e.item ->> 'target_type' IN ('skill', 'tool', 'connector', 'command_type', 'policy',
                                           'artifact_schema', 'memory_schema', 'agent_role',
                                           'swarm_template', 'approval_type', 'evaluation_suite',
                                           'workflow_type')
          AND jsonb_typeof(e.item -> 'target_name') = 'string' AND btrim(e.item ->> 'target_name') <> ''
    )
    -- one edge per target: declared twice, it is required if either says so
    -- and allows only the versions every declaration allows
    SELECT
        raw.rtype,
        raw.ttype,
        raw.target,
        string_agg(DISTINCT nullif(btrim(raw.version_constraint), ''), ' '
                   ORDER BY nullif(btrim(raw.version_constraint), '')),
        bool_or(coalesce(raw.required, true)),
        raw.metadata
    FROM raw
    GROUP BY raw.rtype, raw.ttype, raw.target, raw.metadata
    ORDER BY raw.rtype, raw.ttype, raw.target, raw.metadata::text
$$;

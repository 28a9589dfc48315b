-- Artifacts (spec 24, 63): pure decisions — the status machine, the document
-- an agent sees, the problems of a request.
--
-- Artifacts (spec 24, 63): durable outputs, kept as references (a location)
-- or small inline content, versioned by name within a command and swarm,
-- with lineage to the artifacts they were made from. A swarm joins through
-- its artifacts, not its chat (spec 63.1). The guards hold whoever writes
-- (table owner included).
--
-- Status machine: draft -> final | cancelled | superseded;
-- final -> published | superseded | cancelled; published -> superseded.
-- An agent's artifact belongs to its swarm and the swarm's command, and needs
-- the create_artifact tool (evaluate_output for an evaluation).
-- Refusals: CN001 illegal transition, CN003 lineage cycle, CN004 scope
-- violation, CN005 invalid artifact document, CN006 not found, CN007
-- immutable or append-only, CN011 state conflict.

CREATE OR REPLACE FUNCTION concord._artifact_transition_legal(from_status text, to_status text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (from_status || '>' || to_status) = ANY (ARRAY[
        'draft>final', 'draft>cancelled', 'draft>superseded',
        'final>published', 'final>superseded', 'final>cancelled',
        'published>superseded']);
END
$$;

-- The document of an artifact, as the API returns it.
CREATE OR REPLACE FUNCTION concord._artifact_doc(a concord.artifacts)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'artifact_id', a.artifact_id, 'artifact_type', a.artifact_type, 'name', a.name, 'version', a.version,
        'status', a.status, 'location', a.location, 'content', a.content, 'metadata', a.metadata,
        'score', a.score,
        'parent_artifact_ids', coalesce((SELECT jsonb_agg(l.parent_artifact_id ORDER BY l.created_at,
                                                          l.parent_artifact_id)
                                         FROM concord.artifact_lineage AS l WHERE l.artifact_id = a.artifact_id),
                                        '[]'::jsonb),
        'agent_run_id', a.agent_run_id, 'swarm_run_id', a.swarm_run_id, 'command_id', a.command_id,
        'created_by', a.created_by, 'created_at', a.created_at, 'updated_at', a.updated_at);
END
$$;

-- Every problem of an artifact document, as text; empty when it is valid.
CREATE OR REPLACE FUNCTION concord._artifact_problems(artifact jsonb)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[] := '{}'::text[];
    unknown text[];
BEGIN
    IF artifact IS NULL OR jsonb_typeof(artifact) <> 'object' THEN
        RETURN ARRAY['the artifact must be a JSON object'];
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(artifact) AS k
                     WHERE k <> ALL (ARRAY['artifact_type', 'name', 'location', 'content', 'metadata',
                                           'parent_artifact_ids', 'status', 'score'])
                     ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        problems := array_append(problems, format('unknown keys: %s', array_to_string(unknown, ', ')));
    END IF;
    IF jsonb_typeof(artifact -> 'artifact_type') IS DISTINCT FROM 'string'
       OR artifact ->> 'artifact_type' !~ '^[a-z][a-z0-9_]*$' THEN
        problems := array_append(problems, 'artifact_type is required: a lower-case identifier');
    END IF;
    IF jsonb_typeof(artifact -> 'name') IS DISTINCT FROM 'string' OR btrim(artifact ->> 'name') = ''
       OR length(artifact ->> 'name') > 256 THEN
        problems := array_append(problems, 'name is required: a non-blank string of at most 256 characters');
    END IF;
    IF artifact ? 'location' AND (jsonb_typeof(artifact -> 'location') <> 'string'
                                  OR btrim(artifact ->> 'location') = '') THEN
        problems := array_append(problems, 'location must be a non-blank string (a URI or path)');
    END IF;
    IF coalesce(artifact -> 'location', 'null') = 'null' AND coalesce(artifact -> 'content', 'null') = 'null' THEN
        problems := array_append(problems, 'an artifact has a location or content');
    END IF;
    IF pg_column_size(artifact -> 'content') > 65536 THEN
        problems := array_append(problems, 'content is larger than 64 kB: store it elsewhere and give its location');
    END IF;
    IF artifact ? 'metadata' AND jsonb_typeof(artifact -> 'metadata') <> 'object' THEN
        problems := array_append(problems, 'metadata must be a JSON object');
    END IF;
    IF artifact ? 'parent_artifact_ids' AND (
           jsonb_typeof(artifact -> 'parent_artifact_ids') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(artifact -> 'parent_artifact_ids') AS p (item)
                      WHERE jsonb_typeof(p.item) <> 'string'
                         OR NOT concord._is_uuid(p.item #>> '{}'))) THEN
        problems := array_append(problems, 'parent_artifact_ids must be a list of artifact ids (uuids)');
    END IF;
    IF artifact ? 'status' AND (artifact ->> 'status') IS DISTINCT FROM 'draft'
       AND (artifact ->> 'status') IS DISTINCT FROM 'final' THEN
        problems := array_append(problems, 'status must be draft or final');
    END IF;
    IF artifact ? 'score' AND jsonb_typeof(artifact -> 'score') NOT IN ('number', 'null') THEN
        problems := array_append(problems, 'score must be a number');
    END IF;
    RETURN problems;
END
$$;

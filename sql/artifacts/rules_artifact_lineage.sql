-- artifact_lineage: no cycles, one swarm, append-only.

-- Lineage: insert only; a parent of a swarm's artifact is in that swarm; no
-- cycles (racing edges are serialised by one lock, as dependencies are).
CREATE OR REPLACE FUNCTION concord._artifact_lineage_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    child concord.artifacts%ROWTYPE;
    parent concord.artifacts%ROWTYPE;
BEGIN
    SELECT * INTO child FROM concord.artifacts AS a WHERE a.artifact_id = NEW.artifact_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'lineage_links_existing_artifacts', TABLE = 'artifact_lineage',
            MESSAGE = format('artifact %s not found', NEW.artifact_id);
    END IF;
    SELECT * INTO parent FROM concord.artifacts AS a WHERE a.artifact_id = NEW.parent_artifact_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'lineage_links_existing_artifacts', TABLE = 'artifact_lineage',
            MESSAGE = format('artifact %s not found', NEW.parent_artifact_id);
    END IF;
    IF child.swarm_run_id IS NOT NULL AND parent.swarm_run_id IS DISTINCT FROM child.swarm_run_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'lineage_stays_within_one_swarm',
            TABLE = 'artifact_lineage',
            MESSAGE = format('scope violation: artifact %s of swarm run %s cannot derive from artifact %s of %s',
                             child.artifact_id, child.swarm_run_id, parent.artifact_id,
                             coalesce(parent.swarm_run_id::text, 'no swarm'));
    END IF;
    -- an evaluation counts for the artifact it evaluated, and for no other
    IF child.artifact_type = 'evaluation' AND NEW.parent_artifact_id::text IS DISTINCT FROM child.content ->> 'artifact_id' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_evaluation_derives_only_from_the_artifact_it_evaluates',
            TABLE = 'artifact_lineage',
            MESSAGE = format('evaluation %s evaluated artifact %s: it cannot derive from artifact %s',
                             child.artifact_id, coalesce(child.content ->> 'artifact_id', '(none)'),
                             NEW.parent_artifact_id);
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('concord.artifact_lineage', 0));
    IF NEW.parent_artifact_id = NEW.artifact_id OR EXISTS (
        WITH RECURSIVE descendants (artifact_id) AS (
            SELECT l.artifact_id FROM concord.artifact_lineage AS l WHERE l.parent_artifact_id = NEW.artifact_id
            UNION
            SELECT l.artifact_id FROM concord.artifact_lineage AS l
            INNER JOIN descendants AS d ON l.parent_artifact_id = d.artifact_id
        )
        SELECT 1 FROM descendants AS d WHERE d.artifact_id = NEW.parent_artifact_id
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN003',
            CONSTRAINT = 'artifact_lineage_has_no_cycle',
            TABLE = 'artifact_lineage',
            MESSAGE = format('lineage cycle: artifact %s already derives, directly or not, from artifact %s',
                             NEW.parent_artifact_id, NEW.artifact_id);
    END IF;
    NEW.created_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._artifact_lineage_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    child concord.artifacts%ROWTYPE;
BEGIN
    SELECT * INTO child FROM concord.artifacts AS a WHERE a.artifact_id = NEW.artifact_id;
    PERFORM concord._agent_audit(
        'artifact_lineage_added', 'audit', child.command_id, child.swarm_run_id, child.agent_run_id, 'artifact',
        child.artifact_id::text, null, null,
        jsonb_build_object('parent_artifact_id', NEW.parent_artifact_id),
        coalesce((SELECT a.trace_id FROM concord.agent_runs AS a WHERE a.agent_run_id = child.agent_run_id),
                 (SELECT c.trace_id FROM concord.commands AS c WHERE c.command_id = child.command_id)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER artifact_lineage_before_insert
BEFORE INSERT ON concord.artifact_lineage
FOR EACH ROW EXECUTE FUNCTION concord._artifact_lineage_before_insert();

CREATE OR REPLACE TRIGGER artifact_lineage_after_insert
AFTER INSERT ON concord.artifact_lineage
FOR EACH ROW EXECUTE FUNCTION concord._artifact_lineage_after_insert();

CREATE OR REPLACE TRIGGER artifact_lineage_is_append_only
BEFORE UPDATE OR DELETE ON concord.artifact_lineage
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('is append-only', 'Lineage is recorded once.');

CREATE OR REPLACE TRIGGER artifact_lineage_is_not_truncated
BEFORE TRUNCATE ON concord.artifact_lineage
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('is append-only');

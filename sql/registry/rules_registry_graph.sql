-- The rules of what hangs off a version (relationships, artifacts) and of
-- the registry's history tables: a version's edges and artifacts are frozen
-- with it, and lifecycle events, evaluations and usage are append-only.

CREATE OR REPLACE FUNCTION concord._registry_version_parts_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    version_status text;
    written jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_version_keeps_its_relationships_and_artifacts',
            TABLE = TG_TABLE_NAME,
            MESSAGE = format('%s are kept as recorded: UPDATE is refused', TG_TABLE_NAME),
            HINT = 'Replace a draft''s manifest, or create a new version.';
    END IF;
    written := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    SELECT v.status INTO version_status FROM concord.registry_versions AS v
    WHERE v.version_id = coalesce(written ->> 'source_version_id', written ->> 'version_id')::uuid;
    IF version_status IS DISTINCT FROM 'draft' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_version_keeps_its_relationships_and_artifacts',
            TABLE = TG_TABLE_NAME,
            MESSAGE = format('the version is %s: its %s are frozen (%s refused)', coalesce(version_status, 'unknown'),
                             TG_TABLE_NAME, TG_OP),
            HINT = 'Only a draft''s relationships and artifacts change; create a new version instead.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

-- A relationship's range is its constraint's: written by the trigger, never
-- by the caller, so the two cannot disagree.
CREATE OR REPLACE FUNCTION concord._registry_relationships_range()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    NEW.target_versions := concord.registry_version_range(NEW.target_version_constraint);
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER registry_relationships_range
BEFORE INSERT ON concord.registry_relationships
FOR EACH ROW EXECUTE FUNCTION concord._registry_relationships_range();

CREATE OR REPLACE TRIGGER registry_relationships_are_frozen_with_their_version
BEFORE INSERT OR UPDATE OR DELETE ON concord.registry_relationships
FOR EACH ROW EXECUTE FUNCTION concord._registry_version_parts_before_write();

CREATE OR REPLACE TRIGGER registry_artifacts_are_frozen_with_their_version
BEFORE INSERT OR UPDATE OR DELETE ON concord.registry_artifacts
FOR EACH ROW EXECUTE FUNCTION concord._registry_version_parts_before_write();

CREATE OR REPLACE TRIGGER registry_relationships_are_not_truncated
BEFORE TRUNCATE ON concord.registry_relationships
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are frozen with their version');

CREATE OR REPLACE TRIGGER registry_artifacts_are_not_truncated
BEFORE TRUNCATE ON concord.registry_artifacts
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are frozen with their version');

-- History: append-only.
CREATE OR REPLACE TRIGGER registry_lifecycle_events_are_append_only
BEFORE UPDATE OR DELETE ON concord.registry_lifecycle_events
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'is append-only', 'Record a correction as a new event instead.'
);

CREATE OR REPLACE TRIGGER registry_lifecycle_events_are_not_truncated
BEFORE TRUNCATE ON concord.registry_lifecycle_events
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'is append-only', 'Record a correction as a new event instead.'
);

CREATE OR REPLACE TRIGGER registry_usage_is_append_only
BEFORE UPDATE OR DELETE ON concord.registry_usage
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('is append-only');

CREATE OR REPLACE TRIGGER registry_usage_is_not_truncated
BEFORE TRUNCATE ON concord.registry_usage
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('is append-only');

CREATE OR REPLACE TRIGGER registry_evaluations_are_append_only
BEFORE UPDATE OR DELETE ON concord.registry_evaluations
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are append-only', 'Run the evaluation again.');

CREATE OR REPLACE TRIGGER registry_evaluations_are_not_truncated
BEFORE TRUNCATE ON concord.registry_evaluations
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are append-only', 'Run the evaluation again.'
);

CREATE OR REPLACE TRIGGER registry_entity_types_are_kept
BEFORE DELETE ON concord.registry_entity_types
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are the registry''s twelve types');

-- A type's manifest schema decides what every future manifest may say: it
-- changes with Concord (sql/registry/manifest_schemas.sql, at migrate), never
-- by a bare write.
CREATE OR REPLACE TRIGGER registry_entity_types_change_only_at_migrate
BEFORE INSERT OR UPDATE ON concord.registry_entity_types
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are the registry''s twelve types and change only at migrate',
    'Their schemas ship in sql/registry/manifest_schemas.sql; run concord migrate.'
);

CREATE OR REPLACE TRIGGER registry_entity_types_are_not_truncated
BEFORE TRUNCATE ON concord.registry_entity_types
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are the registry''s twelve types');

-- The version lifecycle is data that only migrations change, like the
-- command state machine (sql/commands/rules_state_machine.sql).
CREATE OR REPLACE TRIGGER state_machine_is_read_only
BEFORE INSERT OR UPDATE OR DELETE ON concord.registry_version_statuses
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'is part of the registry version lifecycle and changes only through a migration',
    'Write a migration that disables this table''s guard triggers around its change.'
);

CREATE OR REPLACE TRIGGER state_machine_is_not_truncated
BEFORE TRUNCATE ON concord.registry_version_statuses
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'is part of the registry version lifecycle and changes only through a migration',
    'Write a migration that disables this table''s guard triggers around its change.'
);

CREATE OR REPLACE TRIGGER state_machine_is_read_only
BEFORE INSERT OR UPDATE OR DELETE ON concord.registry_version_transitions
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'is part of the registry version lifecycle and changes only through a migration',
    'Write a migration that disables this table''s guard triggers around its change.'
);

CREATE OR REPLACE TRIGGER state_machine_is_not_truncated
BEFORE TRUNCATE ON concord.registry_version_transitions
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'is part of the registry version lifecycle and changes only through a migration',
    'Write a migration that disables this table''s guard triggers around its change.'
);

-- Entities: identity fixed, never deleted, every change an event.
CREATE OR REPLACE FUNCTION concord._registry_entities_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF (NEW.entity_id, NEW.entity_type, NEW.name, NEW.org_id, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM (OLD.entity_id, OLD.entity_type, OLD.name, OLD.org_id, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_registry_entity_keeps_its_identity',
            TABLE = 'registry_entities',
            MESSAGE = format('registry entity %s %s keeps its id, type, name, organisation and creator',
                             OLD.entity_type, OLD.name),
            HINT = 'Create a new entity instead.';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._registry_entities_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    PERFORM concord._registry_event(
        CASE WHEN TG_OP = 'INSERT' THEN 'entity_created' ELSE 'entity_updated' END, NEW.entity_id, NULL, NULL,
        jsonb_build_object('entity_type', NEW.entity_type, 'name', NEW.name, 'owner', NEW.owner,
                           'display_name', NEW.display_name, 'status', NEW.status));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER registry_entities_before_update
BEFORE UPDATE ON concord.registry_entities
FOR EACH ROW EXECUTE FUNCTION concord._registry_entities_before_update();

CREATE OR REPLACE TRIGGER registry_entities_after_write
AFTER INSERT OR UPDATE ON concord.registry_entities
FOR EACH ROW EXECUTE FUNCTION concord._registry_entities_after_write();

CREATE OR REPLACE TRIGGER registry_entities_are_never_deleted
BEFORE DELETE ON concord.registry_entities
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are kept forever', 'Archive an entity instead.'
);

CREATE OR REPLACE TRIGGER registry_entities_are_never_truncated
BEFORE TRUNCATE ON concord.registry_entities
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are kept forever', 'Archive an entity instead.'
);

-- What of a version's recorded edges is not what its manifest declares. The
-- edges are derived from the manifest when a draft is written; checked again
-- when it is validated (after which they are frozen), so a bare DELETE or
-- INSERT of a draft's edge cannot let it skip the check that every target
-- resolves. An edge recorded optional where the manifest makes it required is
-- a legacy catalog's (sql/registry/shorthands.sql): allowed while its target
-- is not in the registry.
CREATE OR REPLACE FUNCTION concord._registry_edges_unlike_manifest(
    version_id uuid, entity_type text, manifest jsonb
)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN coalesce((
        WITH derived AS (
            SELECT r.relationship_type, r.target_entity_type, r.target_entity_name,
                   coalesce(r.target_version_constraint, '') AS target_version_constraint, r.required, r.metadata
            FROM concord._registry_manifest_relationships(entity_type, manifest) AS r
        ),
        stored AS (
            SELECT r.relationship_type, r.target_entity_type, r.target_entity_name,
                   coalesce(r.target_version_constraint, '') AS target_version_constraint, r.required, r.metadata
            FROM concord.registry_relationships AS r
            WHERE r.source_version_id = _registry_edges_unlike_manifest.version_id
        )
        SELECT array_agg(x.problem ORDER BY x.problem)
        FROM (
            SELECT format('its manifest''s %s edge to %s %s is not recorded as declared', d.relationship_type,
                          d.target_entity_type, d.target_entity_name) AS problem
            FROM derived AS d
            WHERE NOT EXISTS (
                SELECT 1 FROM stored AS s
                WHERE (s.relationship_type, s.target_entity_type, s.target_entity_name, s.target_version_constraint,
                       s.metadata)
                      = (d.relationship_type, d.target_entity_type, d.target_entity_name, d.target_version_constraint,
                         d.metadata)
                  AND (s.required = d.required
                       OR (NOT s.required AND NOT EXISTS (
                           SELECT 1 FROM concord.registry_entities AS e
                           WHERE e.entity_type = d.target_entity_type AND e.name = d.target_entity_name))))
            UNION ALL
            SELECT format('a recorded %s edge to %s %s is not its manifest''s', s.relationship_type,
                          s.target_entity_type, s.target_entity_name)
            FROM stored AS s
            WHERE NOT EXISTS (
                SELECT 1 FROM derived AS d
                WHERE (s.relationship_type, s.target_entity_type, s.target_entity_name, s.target_version_constraint,
                       s.metadata)
                      = (d.relationship_type, d.target_entity_type, d.target_entity_name, d.target_version_constraint,
                         d.metadata))
        ) AS x), '{}');
END
$$;

-- The DBOS side of the registry's lifecycle workflows (spec 113): the one
-- step a worker runs for an allowed concord.registry.* command. Idempotent
-- on replay: each lifecycle function answers as before when its change is
-- already made.

CREATE OR REPLACE FUNCTION concord.runtime_registry_command(command_id uuid, workflow_id text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
SET "concord.registry_command" = ''
SET "concord.registry_trace" = ''
SET "concord.registry_rebind" = ''
SET "concord.catalog_projection" = ''
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
    approver text;
    answer jsonb;
    saved text[];
BEGIN
    PERFORM concord._require('workflow_id', workflow_id);
    c := concord._lock_command(command_id);
    PERFORM concord._require_owner(c, workflow_id);
    PERFORM set_config('concord.registry_command', c.command_id::text, true);
    PERFORM set_config('concord.registry_trace', c.trace_id, true);
    -- the change is the requester's; the workflow only carries it out
    saved := concord._push_actor(c.requested_by, c.payload ->> 'reason');
    IF c.command_type = 'concord.registry.publish_version' THEN
        SELECT a.decided_by INTO approver FROM concord.approvals AS a
        WHERE a.command_id = c.command_id AND a.status = 'approved'
        ORDER BY a.decided_at DESC LIMIT 1;
        answer := concord._registry_publish((c.payload ->> 'version_id')::uuid, approver);
    ELSIF c.command_type = 'concord.registry.bind_version' THEN
        answer := concord._registry_bind(
            (c.payload ->> 'version_id')::uuid, c.payload ->> 'binding_scope', c.payload ->> 'binding_target',
            c.payload ->> 'environment', c.payload ->> 'rollout_strategy', c.payload -> 'rollout_config',
            c.requested_by);
    ELSIF c.command_type = 'concord.registry.rollback_binding' THEN
        answer := concord._registry_rollback(
            (c.payload ->> 'binding_id')::uuid, (c.payload ->> 'target_version_id')::uuid, c.payload ->> 'reason');
    ELSIF c.command_type = 'concord.registry.retire_version' THEN
        answer := concord._registry_retire(
            (c.payload ->> 'version_id')::uuid, c.payload ->> 'reason', (c.payload ->> 'emergency')::boolean,
            (c.payload ->> 'migrate_to_version_id')::uuid);
        PERFORM concord._registry_notify_owners(c, answer);
    ELSE
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'the_command_is_a_registry_workflow',
            MESSAGE = format('command %s is a %s command, not one a registry workflow runs', c.command_id,
                             c.command_type);
    END IF;
    PERFORM concord._pop_actor(saved);
    RETURN answer;
END
$$;

COMMENT ON FUNCTION concord.runtime_registry_command(uuid, text) IS
'(concord_worker) Run the step of an allowed registry command (publish_version, bind_version, '
'rollback_binding, retire_version) for the workflow that owns its run. Idempotent on replay.';

-- Tells an entity's owners that a version was retired (spec 111.4, 113):
-- one app notification to the entity's owner and one to each owner of its
-- organisation, once per command (idempotency keys), in the command's project.
CREATE OR REPLACE FUNCTION concord._registry_notify_owners(c concord.commands, retired jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = (c.payload ->> 'entity_id')::uuid;
    INSERT INTO concord.notifications (
        channel, recipient, subject, body, metadata, command_id, idempotency_key, project_id
    )
    SELECT 'app', r.recipient,
           format('%s %s %s retired%s', e.entity_type, e.name, retired ->> 'version',
                  CASE WHEN (c.payload ->> 'emergency')::boolean THEN ' (emergency)' ELSE '' END),
           format('Reason: %s. Bindings changed: %s.', c.payload ->> 'reason',
                  jsonb_array_length(coalesce(retired -> 'bindings', '[]'))),
           jsonb_build_object('entity_id', e.entity_id, 'version_id', retired -> 'version_id',
                              'bindings', coalesce(retired -> 'bindings', '[]')),
           c.command_id, format('registry_retired:%s:%s', c.command_id, r.recipient), c.project_id
    FROM (
        SELECT e.owner AS recipient
        UNION
        SELECT p.name FROM concord.memberships AS m INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE m.org_id = e.org_id AND m.project_id IS NULL AND m.role = 'owner'
    ) AS r
    ON CONFLICT ON CONSTRAINT notification_idempotency_key_is_unique DO NOTHING;
END
$$;

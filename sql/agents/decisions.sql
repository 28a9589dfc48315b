-- Pure decisions of the agentic record (spec 57-59): terminal statuses, legal
-- transitions, and how far a scope exceeds its parent's.
--
-- The agentic record (spec 57-58, 71): the guards that hold whoever writes to
-- swarm_runs, agent_runs, agent_invocations, agent_steps and agent_messages
-- (table owner included), and the audit of every change. The gateway API
-- (sql/agents/) is one writer among others: these rules do not trust it.
--
-- Invariants (spec 59.4, 61.1, 62, 71.1, 71.3):
--   a child's allowed_tools, allowed_connectors and allowed_child_roles are
--   subsets of its parent's, its memory scope is within its parent's (same
--   subject, types a subset, semantic retrieval only if the parent has it,
--   max_results no larger); scopes are immutable for the run;
--   spawn_depth = parent.spawn_depth + 1 <= swarm.max_depth;
--   live agents <= max_agents; step_count <= max_steps; the swarm's steps
--   <= max_total_steps; its cost units <= max_cost_units when set.
-- Refusals: CN004 scope violation, CN010 limit exceeded, CN001 illegal
-- transition, CN007 immutable or append-only, CN011 state conflict.

-- Is status terminal in the machine of kind ('swarm' or 'agent')?
CREATE OR REPLACE FUNCTION concord._agentic_terminal(kind text, status text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF kind = 'swarm' THEN
        RETURN coalesce((SELECT s.terminal FROM concord.swarm_statuses AS s WHERE s.status = _agentic_terminal.status),
                        false);
    END IF;
    RETURN coalesce((SELECT s.terminal FROM concord.agent_statuses AS s WHERE s.status = _agentic_terminal.status),
                    false);
END
$$;

-- Refuses from_status -> to_status unless it is an edge of the machine of
-- kind (CN001), naming the legal next statuses.
CREATE OR REPLACE FUNCTION concord._agentic_transition(
    kind text, object_id uuid, from_status text, to_status text
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    legal boolean;
    next_statuses text;
BEGIN
    IF kind = 'swarm' THEN
        legal := EXISTS (SELECT 1 FROM concord.swarm_transitions AS t
                         WHERE t.from_status = _agentic_transition.from_status
                           AND t.to_status = _agentic_transition.to_status);
    ELSE
        legal := EXISTS (SELECT 1 FROM concord.agent_transitions AS t
                         WHERE t.from_status = _agentic_transition.from_status
                           AND t.to_status = _agentic_transition.to_status);
    END IF;
    IF NOT legal THEN
        -- the legal next statuses, for the message only
        IF kind = 'swarm' THEN
            SELECT string_agg(t.to_status, ', ' ORDER BY t.to_status) INTO next_statuses
            FROM concord.swarm_transitions AS t WHERE t.from_status = _agentic_transition.from_status;
        ELSE
            SELECT string_agg(t.to_status, ', ' ORDER BY t.to_status) INTO next_statuses
            FROM concord.agent_transitions AS t WHERE t.from_status = _agentic_transition.from_status;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = kind || '_runs_follow_their_state_machine', TABLE = kind || '_runs',
            MESSAGE = format('illegal transition: %s run %s cannot go from %s to %s', kind, object_id,
                             coalesce(from_status, 'NULL'), coalesce(to_status, 'NULL')),
            DETAIL = format('From %s a %s run may go to: %s.', from_status, kind,
                            coalesce(next_statuses, 'nothing: it is terminal')),
            HINT = format('The edges are listed in concord.%s_transitions.', kind);
    END IF;
END
$$;

-- Why memory scope child is not within parent (spec 61.1), or NULL.
CREATE OR REPLACE FUNCTION concord._memory_scope_excess(child jsonb, parent jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    extra text[];
BEGIN
    IF child IS NULL OR child = '{}'::jsonb THEN
        RETURN NULL;
    END IF;
    IF parent IS NULL OR parent = '{}'::jsonb THEN
        RETURN 'the parent has no memory access, so the child can have none';
    END IF;
    IF child ->> 'subject_type' IS DISTINCT FROM parent ->> 'subject_type'
       OR child ->> 'subject_id' IS DISTINCT FROM parent ->> 'subject_id' THEN
        RETURN format('memory subject %s:%s is not the parent''s %s:%s', child ->> 'subject_type',
                      child ->> 'subject_id', parent ->> 'subject_type', parent ->> 'subject_id');
    END IF;
    extra := ARRAY(
        SELECT c.item FROM jsonb_array_elements_text(child -> 'allowed_memory_types') AS c (item)
        EXCEPT
        SELECT p.item FROM jsonb_array_elements_text(parent -> 'allowed_memory_types') AS p (item)
    );
    IF cardinality(extra) > 0 THEN
        RETURN format('memory types %s are not in the parent''s allowed_memory_types %s',
                      array_to_string(extra, ', '), parent -> 'allowed_memory_types');
    END IF;
    IF (child -> 'allow_semantic_retrieval')::boolean AND NOT (parent -> 'allow_semantic_retrieval')::boolean THEN
        RETURN 'semantic retrieval is not allowed to the parent';
    END IF;
    IF (child ->> 'max_results')::numeric > (parent ->> 'max_results')::numeric THEN
        RETURN format('max_results %s is above the parent''s %s', child ->> 'max_results', parent ->> 'max_results');
    END IF;
    RETURN NULL;
END
$$;

-- Every way a would-be child exceeds its parent's scopes, as
-- [{code: CN004, scope, rule, reason}] (empty when it fits); rule names the
-- scope rule broken (concord.rules). Pure: also the spawn policy.
CREATE OR REPLACE FUNCTION concord._scope_excess(
    parent concord.agent_runs,
    agent_role text,
    allowed_tools text[],
    allowed_connectors text[],
    allowed_child_roles text[],
    memory_scope jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems jsonb := '[]'::jsonb;
    extra text[];
    memory_problem text := concord._memory_scope_excess(memory_scope, parent.memory_scope);
BEGIN
    IF cardinality(parent.allowed_child_roles) > 0 AND NOT agent_role = ANY (parent.allowed_child_roles) THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'agent_role',
            'rule', 'a_child_role_is_one_its_parent_may_spawn',
            'reason', format('role %s is not one of the child roles agent %s may spawn (%s)', agent_role,
                             parent.agent_run_id, array_to_string(parent.allowed_child_roles, ', ')));
    END IF;
    extra := ARRAY(SELECT unnest(allowed_tools) EXCEPT SELECT unnest(parent.allowed_tools));
    IF cardinality(extra) > 0 THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'allowed_tools',
            'rule', 'a_child_tools_are_within_its_parent_tools',
            'reason', format('tools %s are outside the parent''s allowed_tools (%s)',
                             array_to_string(extra, ', '), array_to_string(parent.allowed_tools, ', ')));
    END IF;
    extra := ARRAY(SELECT unnest(allowed_connectors) EXCEPT SELECT unnest(parent.allowed_connectors));
    IF cardinality(extra) > 0 THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'allowed_connectors',
            'rule', 'a_child_connectors_are_within_its_parent_connectors',
            'reason', format('connectors %s are outside the parent''s allowed_connectors (%s)',
                             array_to_string(extra, ', '), array_to_string(parent.allowed_connectors, ', ')));
    END IF;
    IF cardinality(parent.allowed_child_roles) > 0 THEN
        -- an empty list inherits the parent's (see _agent_runs_before_insert)
        extra := ARRAY(SELECT unnest(allowed_child_roles) EXCEPT SELECT unnest(parent.allowed_child_roles));
        IF cardinality(extra) > 0 THEN
            problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'allowed_child_roles',
                'rule', 'a_child_spawns_only_roles_its_parent_may_spawn',
                'reason', format('child roles %s are outside the parent''s allowed_child_roles (%s)',
                                 array_to_string(extra, ', '), array_to_string(parent.allowed_child_roles, ', ')));
        END IF;
    END IF;
    IF memory_problem IS NOT NULL THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'memory_scope',
                                                   'rule', 'a_child_memory_scope_is_within_its_parent_scope',
                                                   'reason', memory_problem);
    END IF;
    RETURN problems;
END
$$;

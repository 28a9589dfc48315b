-- Runtime bench (b): one bare DBOS workflow per transaction, enqueued from SQL with DBOS's
-- own dbos.enqueue_workflow as Concord's kernel does it (positional args as portable JSON,
-- an explicit workflow id, no application version). The workflow id is also the job id
-- the workflow's two steps write; it starts with the batch's :tag.
SELECT dbos.enqueue_workflow(
    workflow_name => 'bench.bare_run',
    queue_name => 'concord_default',
    positional_args => ARRAY[to_json(j.id)]::json [],
    workflow_id => j.id
)
FROM (SELECT format('%s:%s:%s', :tag::text, :client_id::int, gen_random_uuid()) AS id) AS j;

-- One row the reconciler cannot move stops no other (issue 13: nothing is
-- stuck): every pass of runtime_reconcile moves each row in a subtransaction
-- of its own, so a row whose move is refused (a defect, a rule that changed)
-- is said as a WARNING and left for the next pass, while the others are moved
-- and the pass (a worker's start included) still succeeds.
BEGIN;
SELECT plan(5);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT is(concord_test.submit('poisoned', 'rt_async'), 'queued', 'fixture: poisoned is queued');
SELECT is(concord_test.submit('other', 'rt_async'), 'queued', 'fixture: other is queued');

DO $$ BEGIN
    PERFORM concord_test.claim('poisoned');
    PERFORM concord_test.claim('other');
END $$;

-- DBOS gave up on both runs.
UPDATE dbos.workflow_status SET status = 'ERROR'
WHERE workflow_uuid IN (concord_test.workflow_of('poisoned'), concord_test.workflow_of('other'));

-- A move of 'poisoned' is refused: here by a trigger the test adds (rolled
-- back with it), in life by a defect.
DO $do$ BEGIN
    EXECUTE format($f$
        CREATE FUNCTION pg_temp.refuse_poisoned() RETURNS trigger
        LANGUAGE plpgsql
        AS $$
        BEGIN
            IF NEW.command_id = %L::uuid THEN
                RAISE EXCEPTION 'this row cannot move';
            END IF;
            RETURN NEW;
        END
        $$ $f$, concord_test.id('poisoned'));
END $do$;
CREATE TRIGGER zz_refuse_poisoned BEFORE UPDATE ON concord.commands
FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_poisoned();

SELECT lives_ok($$SELECT concord.runtime_reconcile('ex-reconciler')$$,
                'a pass with a row it cannot move still succeeds');
SELECT is((concord_test.command('other')).status, 'failed', 'the other row is moved');
SELECT is((concord_test.command('poisoned')).status, 'running', 'the row it cannot move is left as it was');

SELECT * FROM finish();
ROLLBACK;

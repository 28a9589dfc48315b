-- notifications: only their read state changes; never deleted.

CREATE OR REPLACE FUNCTION concord._notifications_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF (to_jsonb(NEW) - 'read_at') IS DISTINCT FROM (to_jsonb(OLD) - 'read_at')
       OR (OLD.read_at IS NOT null AND NEW.read_at IS DISTINCT FROM OLD.read_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'only_read_at_changes_and_only_once',
            TABLE = 'notifications',
            MESSAGE = format('notification %s: only read_at changes, once', OLD.notification_id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER notifications_before_update
BEFORE UPDATE ON concord.notifications
FOR EACH ROW EXECUTE FUNCTION concord._notifications_before_update();

CREATE OR REPLACE TRIGGER notifications_are_not_deleted
BEFORE DELETE ON concord.notifications
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are kept');

CREATE OR REPLACE TRIGGER notifications_are_not_truncated
BEFORE TRUNCATE ON concord.notifications
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are kept');

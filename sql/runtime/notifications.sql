-- Notifications (spec 18): stored for the app inbox.

CREATE OR REPLACE FUNCTION concord.store_notification(
    recipient text,
    subject text,
    body text,
    channel text DEFAULT 'app',
    command_id uuid DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    metadata jsonb DEFAULT '{}'
)
RETURNS uuid
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
AS $$
#variable_conflict use_variable
DECLARE
    new_id uuid;
    first concord.notifications%ROWTYPE;
    project uuid;
BEGIN
    PERFORM concord._require_name('recipient', recipient);
    IF channel IS null OR channel NOT IN ('app', 'email') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', CONSTRAINT = 'notification_channel_is_app_or_email',
            MESSAGE = format('unknown notification channel %L: use app or email', channel);
    END IF;
    IF idempotency_key IS NOT null THEN
        PERFORM concord._require('idempotency_key', idempotency_key);
    END IF;
    IF command_id IS NOT null AND NOT EXISTS (SELECT 1 FROM concord.commands AS c WHERE c.command_id = command_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    -- a notification belongs to its command's project, else to the chosen one,
    -- where the caller (unless it is the kernel's worker) is a member
    project := coalesce((SELECT c.project_id FROM concord.commands AS c WHERE c.command_id = store_notification.command_id),
                        concord._chosen_project());
    IF NOT concord._sees_all() THEN
        PERFORM concord._acting_principal(null, project, ARRAY['owner', 'admin', 'member']);
    END IF;
    INSERT INTO concord.notifications AS n (
        channel, recipient, subject, body, metadata, command_id, idempotency_key, project_id
    )
    VALUES (channel, recipient, coalesce(subject, ''), coalesce(body, ''), coalesce(metadata, '{}'), command_id,
            idempotency_key, project)
    ON CONFLICT ON CONSTRAINT notification_idempotency_key_is_unique DO NOTHING
    RETURNING n.notification_id INTO new_id;
    IF new_id IS NOT null THEN
        RETURN new_id;
    END IF;
    SELECT * INTO first FROM concord.notifications AS n
    WHERE n.project_id = project AND n.idempotency_key = idempotency_key;
    IF (first.channel, first.recipient, first.subject, first.body, first.command_id)
       IS DISTINCT FROM (channel, recipient, coalesce(subject, ''), coalesce(body, ''), command_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN002',
            CONSTRAINT = 'a_notification_idempotency_key_names_one_notification',
            MESSAGE = format('notification idempotency key %L is already used by a different notification',
                             idempotency_key);
    END IF;
    RETURN first.notification_id;
END
$$;

COMMENT ON FUNCTION concord.store_notification(text, text, text, text, uuid, text, jsonb) IS
'Store an app (or sent email) notification durably; idempotent by key (the same key for a '
'different notification is CN002). Returns its id.';

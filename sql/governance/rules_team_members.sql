-- team_members and command_type_grants: rows are added or removed, never
-- rewritten, and every change is audited.

-- Grants and memberships are audited whoever writes them. The trigger's
-- arguments: the event for an insert, the event for a delete, the target
-- type and the column naming the target.
CREATE OR REPLACE FUNCTION concord._access_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    changed jsonb := CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
BEGIN
    PERFORM concord._audit(
        CASE TG_OP WHEN 'DELETE' THEN TG_ARGV[1] ELSE TG_ARGV[0] END,
        null, null, TG_ARGV[2], changed ->> TG_ARGV[3], null, null,
        jsonb_build_object('principal', changed ->> 'principal'));
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER team_members_after_write
AFTER INSERT OR DELETE ON concord.team_members
FOR EACH ROW EXECUTE FUNCTION concord._access_after_write(
    'team_member_added', 'team_member_removed', 'team', 'team'
);

CREATE OR REPLACE TRIGGER team_members_are_not_updated
BEFORE UPDATE ON concord.team_members
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('change by adding and removing members');

CREATE OR REPLACE TRIGGER command_type_grants_after_write
AFTER INSERT OR DELETE ON concord.command_type_grants
FOR EACH ROW EXECUTE FUNCTION concord._access_after_write(
    'command_type_granted', 'command_type_revoked', 'command_type', 'command_type'
);

CREATE OR REPLACE TRIGGER command_type_grants_are_not_updated
BEFORE UPDATE ON concord.command_type_grants
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('change by granting and revoking');

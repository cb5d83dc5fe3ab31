-- Change notifications: what a session open decides by (token grants, API keys, users, their groups,
-- service accounts, connections and their agents, the active policy, just-in-time grants) is kept in
-- each gateway replica's memory, and every change to it is announced on the channel
-- `tollgate_changes` with the table's name as payload (NOTIFY sends it at commit, once per payload
-- and transaction), so every replica drops what it kept of that table. Inserts of token grants are
-- not announced (a replica keeps only grants it has read, and a new grant changes none of them);
-- neither are updates that touch only an API key's last use.
CREATE FUNCTION "tollgate_notify_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tollgate_changes', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER "token_grants_changed" AFTER UPDATE OR DELETE ON "token_grants"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();

CREATE TRIGGER "api_keys_changed" AFTER INSERT OR DELETE ON "api_keys"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "api_keys_updated" AFTER UPDATE ON "api_keys"
  FOR EACH ROW WHEN (
    OLD."hash" IS DISTINCT FROM NEW."hash" OR OLD."subject" IS DISTINCT FROM NEW."subject" OR
    OLD."scopes" IS DISTINCT FROM NEW."scopes" OR OLD."expires_at" IS DISTINCT FROM NEW."expires_at" OR
    OLD."revoked_at" IS DISTINCT FROM NEW."revoked_at" OR OLD."prefix" IS DISTINCT FROM NEW."prefix"
  ) EXECUTE FUNCTION "tollgate_notify_change"();

CREATE TRIGGER "users_changed" AFTER INSERT OR UPDATE OR DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "groups_changed" AFTER INSERT OR UPDATE OR DELETE ON "groups"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "memberships_changed" AFTER INSERT OR UPDATE OR DELETE ON "memberships"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "service_accounts_changed" AFTER INSERT OR UPDATE OR DELETE ON "service_accounts"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "connections_changed" AFTER INSERT OR UPDATE OR DELETE ON "connections"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "connection_agents_changed" AFTER INSERT OR UPDATE OR DELETE ON "connection_agents"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "policy_versions_changed" AFTER INSERT OR UPDATE OR DELETE ON "policy_versions"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();

-- Only access reviews are grants; a command held for review changes none.
CREATE TRIGGER "reviews_changed" AFTER INSERT OR UPDATE ON "reviews"
  FOR EACH ROW WHEN (NEW."kind" = 'access') EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "reviews_deleted" AFTER DELETE ON "reviews"
  FOR EACH ROW WHEN (OLD."kind" = 'access') EXECUTE FUNCTION "tollgate_notify_change"();

-- CreateTable
CREATE TABLE "ssh_keys" (
    "id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "public_key" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "scopes" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "ssh_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ssh_keys_fingerprint_key" ON "ssh_keys"("fingerprint");

-- CreateIndex
CREATE INDEX "ssh_keys_subject_idx" ON "ssh_keys"("subject");

-- Announced as the other tables a login decides by are (see 20261204183000_change_notifications),
-- so a removed key stops working on every replica at once; a key's last use is not announced.
CREATE TRIGGER "ssh_keys_changed" AFTER INSERT OR DELETE ON "ssh_keys"
  FOR EACH ROW EXECUTE FUNCTION "tollgate_notify_change"();
CREATE TRIGGER "ssh_keys_updated" AFTER UPDATE ON "ssh_keys"
  FOR EACH ROW WHEN (
    OLD."subject" IS DISTINCT FROM NEW."subject" OR OLD."fingerprint" IS DISTINCT FROM NEW."fingerprint" OR
    OLD."scopes" IS DISTINCT FROM NEW."scopes"
  ) EXECUTE FUNCTION "tollgate_notify_change"();

-- AlterTable
ALTER TABLE "connections" ADD COLUMN     "named_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- Existing connections: when they took their names is not known; their creation is the nearest.
UPDATE "connections" SET "named_at" = "created_at";

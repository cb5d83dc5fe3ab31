-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "replica_id" TEXT;

-- CreateTable
CREATE TABLE "replica_heartbeats" (
    "id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "replica_heartbeats_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sessions_state_idx" ON "sessions"("state");

-- CreateIndex
CREATE INDEX "replica_heartbeats_last_seen_at_idx" ON "replica_heartbeats"("last_seen_at");

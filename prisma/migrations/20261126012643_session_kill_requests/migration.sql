-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "kill_requested_at" TIMESTAMPTZ(3),
ADD COLUMN     "kill_requested_by" TEXT;

-- CreateIndex
CREATE INDEX "sessions_kill_requested_at_idx" ON "sessions"("kill_requested_at");

-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "groups" JSONB NOT NULL DEFAULT '[]';

-- CreateTable
CREATE TABLE "reviews" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "requester" TEXT NOT NULL,
    "requester_actors" JSONB NOT NULL DEFAULT '[]',
    "connection_name" TEXT NOT NULL,
    "verb" TEXT,
    "duration_seconds" INTEGER,
    "reason" TEXT,
    "session_id" UUID,
    "command" TEXT,
    "rule" TEXT NOT NULL,
    "approvers" JSONB NOT NULL,
    "min_approvals" INTEGER NOT NULL DEFAULT 1,
    "read_only" BOOLEAN NOT NULL DEFAULT false,
    "policy_version" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "decided_at" TIMESTAMPTZ(3),
    "grant_expires_at" TIMESTAMPTZ(3),

    CONSTRAINT "reviews_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "review_decisions" (
    "id" UUID NOT NULL,
    "review_id" UUID NOT NULL,
    "reviewer" TEXT NOT NULL,
    "decision" TEXT NOT NULL,
    "comment" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "review_decisions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "reviews_state_kind_idx" ON "reviews"("state", "kind");

-- CreateIndex
CREATE INDEX "reviews_requester_idx" ON "reviews"("requester");

-- CreateIndex
CREATE UNIQUE INDEX "review_decisions_review_id_reviewer_key" ON "review_decisions"("review_id", "reviewer");

-- AddForeignKey
ALTER TABLE "review_decisions" ADD CONSTRAINT "review_decisions_review_id_fkey" FOREIGN KEY ("review_id") REFERENCES "reviews"("id") ON DELETE CASCADE ON UPDATE CASCADE;

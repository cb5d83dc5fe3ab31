-- CreateTable
CREATE TABLE "journal_quarantine" (
    "id" BIGSERIAL NOT NULL,
    "agent_id" TEXT NOT NULL,
    "agent" TEXT NOT NULL,
    "chain" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "session_id" TEXT,
    "reason" TEXT NOT NULL,
    "bytes" BYTEA NOT NULL,
    "audit_seq" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "journal_quarantine_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "journal_quarantine_agent_id_chain_seq_key" ON "journal_quarantine"("agent_id", "chain", "seq");

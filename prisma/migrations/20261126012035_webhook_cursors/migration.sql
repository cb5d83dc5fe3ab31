-- CreateTable
CREATE TABLE "webhook_cursors" (
    "name" TEXT NOT NULL,
    "last_seq" BIGINT NOT NULL,
    "leased_by" TEXT,
    "lease_until" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_cursors_pkey" PRIMARY KEY ("name")
);

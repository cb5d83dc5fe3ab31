-- CreateTable
CREATE TABLE "login_states" (
    "key_hash" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "login_states_pkey" PRIMARY KEY ("key_hash")
);

-- CreateIndex
CREATE INDEX "login_states_expires_at_idx" ON "login_states"("expires_at");

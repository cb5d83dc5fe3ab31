-- AlterTable
ALTER TABLE "token_grants" ADD COLUMN     "actor_token_id" TEXT;

-- CreateIndex
CREATE INDEX "token_grants_actor_token_id_idx" ON "token_grants"("actor_token_id");

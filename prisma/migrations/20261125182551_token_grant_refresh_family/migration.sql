-- AlterTable
ALTER TABLE "token_grants" ADD COLUMN     "refresh_family_id" UUID;

-- CreateIndex
CREATE INDEX "token_grants_refresh_family_id_idx" ON "token_grants"("refresh_family_id");

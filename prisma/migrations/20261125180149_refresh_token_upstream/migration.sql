-- AlterTable
ALTER TABLE "refresh_tokens" ADD COLUMN     "upstream_refresh_token" TEXT;

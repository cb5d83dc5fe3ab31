-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "policy_version" INTEGER;

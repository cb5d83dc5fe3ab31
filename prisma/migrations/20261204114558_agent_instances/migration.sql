-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "address" TEXT,
ADD COLUMN     "instance_id" TEXT;

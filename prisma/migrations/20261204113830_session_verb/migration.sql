-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "verb" TEXT NOT NULL DEFAULT 'connect';

-- AlterTable
ALTER TABLE "session_recording_chunks" ADD COLUMN     "zstd" BYTEA,
ALTER COLUMN "data" SET DEFAULT '';

-- Already compressed: PostgreSQL stores it out of line without trying its own compression (pglz).
ALTER TABLE "session_recording_chunks" ALTER COLUMN "zstd" SET STORAGE EXTERNAL;

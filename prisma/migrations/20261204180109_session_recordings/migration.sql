-- CreateTable
CREATE TABLE "session_recordings" (
    "session_id" UUID NOT NULL,
    "recording" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "command" TEXT,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "chunks" INTEGER NOT NULL DEFAULT 0,
    "complete" BOOLEAN NOT NULL DEFAULT false,
    "truncated" BOOLEAN NOT NULL DEFAULT false,
    "sha256" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ended_at" TIMESTAMPTZ(3),

    CONSTRAINT "session_recordings_pkey" PRIMARY KEY ("session_id","recording")
);

-- CreateTable
CREATE TABLE "session_recording_chunks" (
    "session_id" UUID NOT NULL,
    "recording" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "data" TEXT NOT NULL,

    CONSTRAINT "session_recording_chunks_pkey" PRIMARY KEY ("session_id","recording","seq")
);

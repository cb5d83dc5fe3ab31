-- DropForeignKey
ALTER TABLE "session_events" DROP CONSTRAINT "session_events_session_id_fkey";

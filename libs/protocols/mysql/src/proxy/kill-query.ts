import { Command } from '../capabilities';
import { isErrPacket, parseErrPacket } from '../response-packets';
import { connectTarget } from './target-connection';
import type { MysqlTargetSettings } from './target-settings';

/**
 * Stops the statement running on server thread `thread` with `KILL QUERY` on a side connection
 * (the session's own connection is busy with it), as the same user, who may always kill its own
 * threads. Resolves when the server answered.
 */
export async function killQuery(settings: MysqlTargetSettings, thread: number): Promise<void> {
  const side = await connectTarget(settings);
  try {
    side.channel.sequence = 0;
    side.channel.write(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(`KILL QUERY ${thread}`)]));
    const reply = await side.channel.next();
    if (isErrPacket(reply.payload)) throw new Error(parseErrPacket(reply.payload).message);
  } finally {
    side.channel.sequence = 0;
    side.channel.write(Buffer.from([Command.QUIT]));
    side.channel.destroy();
  }
}

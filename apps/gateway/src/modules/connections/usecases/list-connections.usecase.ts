import { Injectable } from '@nestjs/common';
import type { Prisma } from '@tollgate/store';
import { StoreService } from '../../store/store.service';
import type { ListConnectionsQuery } from '../connection.schemas';
import { connectionInclude, presentConnection, type ConnectionView } from '../connection.presenter';

@Injectable()
export class ListConnectionsUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(query: ListConnectionsQuery): Promise<{ items: ConnectionView[] }> {
    const where: Prisma.ConnectionWhereInput = {};
    if (query.protocol) where.protocol = query.protocol;
    if (query.tag) {
      const at = query.tag.indexOf('=');
      where.tags = { path: [query.tag.slice(0, at)], equals: query.tag.slice(at + 1) };
    }
    const rows = await this.store.prisma.connection.findMany({
      where,
      include: connectionInclude,
      orderBy: { name: 'asc' },
    });
    return { items: rows.map(presentConnection) };
  }
}

import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { findConnectionOrThrow } from './find-connection';

@Injectable()
export class DeleteConnectionUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(ref: string): Promise<void> {
    await this.store.prisma.$transaction(async (tx) => {
      const existing = await findConnectionOrThrow(tx, ref);
      await tx.connection.delete({ where: { id: existing.id } });
    });
  }
}

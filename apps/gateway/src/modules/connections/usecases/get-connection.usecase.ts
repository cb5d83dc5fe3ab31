import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { presentConnection, type ConnectionView } from '../connection.presenter';
import { findConnectionOrThrow } from './find-connection';

@Injectable()
export class GetConnectionUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(ref: string): Promise<ConnectionView> {
    return presentConnection(await findConnectionOrThrow(this.store.prisma, ref));
  }
}

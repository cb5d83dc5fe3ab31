/** Prisma reports constraint failures by code; these helpers keep that knowledge in one place. */
export function isUniqueViolation(error: unknown): boolean {
  return prismaCode(error) === 'P2002';
}

export function isRecordNotFound(error: unknown): boolean {
  return prismaCode(error) === 'P2025';
}

function prismaCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

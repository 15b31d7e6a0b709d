import type { DataKeysResponse } from '../../shared/api.ts';
import { dataKeyState } from '../conversations/dataKeyJobs.ts';
import { defineRoute, responds } from '../http/route.ts';

export const dataKeyRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/admin/data-keys',
    access: ['admin'],
    summary:
      'Encryption at rest of restricted conversations: data keys per key-encryption key, rotation, plaintext still to encrypt, and whether PostgreSQL has validated that none is left (conversation_restricted_is_encrypted).',
    response: responds<DataKeysResponse>(),
    async handler({ deps }) {
      return { body: await dataKeyState(deps) };
    },
  }),
];

import { z } from 'zod';
import type { AdminSessionListResponse, AdminSessionView } from '../../shared/api.ts';
import { sessionHandle } from '../auth/sessionStore.ts';
import { getKeyNicknamesByIds } from '../db/keys.ts';
import { getUsernamesByIds } from '../db/users.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';

const ADMIN = ['admin'] as const;
const SessionParams = z.strictObject({ id: z.string().max(32).regex(/^[0-9a-f]{32}$/, 'not a session id') });

export const adminLiveRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/admin/sessions',
    access: ADMIN,
    summary: 'Signed-in sessions of every user, most recently seen first.',
    response: responds<AdminSessionListResponse>(),
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(200) }),
    async handler({ req, query, deps }) {
      const { sessions, total } = await deps.sessions.listLive(query.limit);
      const [usernames, keyNicknames] = await Promise.all([
        getUsernamesByIds(deps.pool, [...new Set(sessions.map((s) => s.data.userId))]),
        getKeyNicknamesByIds(deps.pool, [...new Set(sessions.flatMap((s) => (s.data.keyId ? [s.data.keyId] : [])))]),
      ]);
      const views: AdminSessionView[] = sessions.map(({ sid, data, lastSeenAt }) => ({
        id: sessionHandle(sid),
        userId: data.userId,
        username: usernames.get(data.userId) ?? '(deleted user)',
        ip: data.ip || null,
        userAgent: data.userAgent || null,
        signedInAt: new Date(data.signedInAt ?? 0).toISOString(),
        lastSeenAt: new Date(lastSeenAt).toISOString(),
        method: data.signInMethod ?? 'password_and_key',
        keyId: data.keyId ?? null,
        keyNickname: (data.keyId && keyNicknames.get(data.keyId)) || null,
        current: sid === req.sessionID,
      }));
      return { body: { sessions: views, total } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/admin/sessions/:id',
    access: ADMIN,
    stepUp: true,
    summary: "End anyone's session: on every node, with its grant and its WebSocket connections. Needs a fresh step-up.",
    params: SessionParams,
    async handler({ req, params, deps, audit }) {
      const session = await deps.sessions.findLiveByHandle(params.id);
      if (!session) throw notFound('No such session: it may have ended already.');
      // Ending your own session from here would be a sign-out in disguise.
      if (session.sid === req.sessionID) throw new HttpError(409, 'CONFLICT', 'This is your own session: sign out instead.');
      // The store's onDestroyed hook ends the session's grant and tells every node to close its sockets.
      // The audit record is queued with the change (the outbox), so the end is recorded even if Postgres is away now.
      await deps.sessions.destroyOne(session.sid, (multi) =>
        deps.auditOutbox.queue(multi, audit, {
          action: 'auth.session_ended',
          outcome: 'success',
          severity: 'medium',
          target: { type: 'user', id: session.data.userId },
          details: { session: params.id, by: 'admin', ip: session.data.ip ?? null, signedInAt: new Date(session.data.signedInAt ?? 0).toISOString() },
        }),
      );
      await deps.auditOutbox.drain();
      return {};
    },
  }),
];

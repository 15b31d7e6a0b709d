import { z } from 'zod';
import type {
  CreateUserResponse,
  KeyListResponse,
  KeyResponse,
  NewEnrollmentResponse,
  PendingChangeResponse,
  PendingEnrollmentLinkResponse,
  UserListResponse,
  UserResponse,
} from '../../shared/api.ts';
import { KEY_STATUSES, ROLES, USER_STATUSES } from '../../shared/api.ts';
import { listKeys, toKeyView } from '../db/keys.ts';
import { deleteKeyAsAdmin, reassignKeyAsAdmin, setKeyStatusAsAdmin, type KeyChangeFailure } from '../keys/manageKeys.ts';
import { withTransaction } from '../db/pool.ts';
import { getUserByUsername, listUsers, toAdminUserView, toPublicUser } from '../db/users.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { changeUser } from '../users/changeUser.ts';
import { createUserWithEnrollment } from '../users/createUser.ts';
import { deleteUser } from '../users/deleteUser.ts';
import { issueEnrollmentLink } from '../users/enrollmentLink.ts';
import { pageOf, timeIdCursor, usernameCursor } from '../http/cursors.ts';
import { refusalFor, type Refusal } from '../keys/errors.ts';
import { toPendingChangeView } from '../pendingChanges/pendingChangeView.ts';
import { gatePromotion, gateRecoveryLink } from '../pendingChanges/requestChange.ts';
import { twoPersonVerdict } from '../pendingChanges/twoPersonRule.ts';
import { alreadyWaiting } from './pendingChangeAnswers.ts';

const ADMIN = ['admin'] as const;

const Username = z
  .string()
  .max(100)
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/, '2–63 characters: letters, digits, dot, dash or underscore, starting with a letter or digit');

const UserIdParams = z.strictObject({ id: z.uuid('not a user id') });

function lastAdmin(): HttpError {
  return new HttpError(409, 'LAST_ADMIN', 'You cannot disable, demote or delete the last active admin.');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const adminRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/admin/users',
    access: ADMIN,
    summary: 'Search and page through users (keyset pagination by username).',
    response: responds<UserListResponse>(),
    query: z.strictObject({
      q: z.string().trim().max(100).optional(),
      role: z.enum(ROLES).optional(),
      status: z.enum(USER_STATUSES).optional(),
      after: usernameCursor.schema.optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
    }),
    async handler({ query, deps }) {
      // A search that is a user id (a link from the audit log) finds that user.
      const byId = query.q !== undefined && UUID.test(query.q);
      const rows = await listUsers(deps.pool, {
        ...query,
        q: byId ? undefined : query.q,
        id: byId ? query.q : undefined,
        afterUsername: query.after,
        limit: query.limit + 1,
        linkAllowanceHours: deps.config.oidc?.linkAllowanceHours ?? null,
      });
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => usernameCursor.encode(last.username));
      return { body: { users: page.map(toAdminUserView), nextCursor } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/admin/users',
    access: ADMIN,
    summary: 'Create a user; answers with their one-time enrollment link.',
    response: responds<CreateUserResponse>(),
    stepUp: true,
    body: z.strictObject({
      username: Username,
      displayName: z.string().trim().min(1).max(100).optional(),
      role: z.enum(ROLES),
    }),
    async handler({ body, user, deps, audit }) {
      // Threat model G9: an admin one admin made alone could approve that admin's changes. While
      // the two-person rule holds, the account is made a user and its promotion waits for approval.
      const verdict = body.role === 'admin' ? await twoPersonVerdict(deps.pool, deps.config, user.id) : null;
      const result = await createUserWithEnrollment({
        pool: deps.pool,
        config: deps.config,
        username: body.username,
        displayName: body.displayName ?? body.username,
        role: verdict?.hold ? 'user' : body.role,
        context: audit,
        twoPersonRule: verdict && !verdict.hold ? verdict.note : undefined,
      });
      if (!result.created) throw new HttpError(409, 'CONFLICT', `The username "${body.username}" is taken.`);
      const created = { user: toPublicUser(result.user), enrollment: result.enrollment };
      if (!verdict?.hold) return { status: 201, body: created };
      const gate = await gatePromotion(deps, { requester: user, userId: result.user.id, change: { role: 'admin' }, context: audit });
      if (gate.held === true) return { status: 201, body: { ...created, pendingChange: toPendingChangeView(gate.pendingChange) } };
      // The rule stopped holding between the two checks (no other admin could approve any more): made as asked.
      const promoted = await changeUser(deps, { userId: result.user.id, role: 'admin', context: audit, twoPersonRule: gate.held === false ? gate.note : undefined });
      return { status: 201, body: promoted.changed ? { ...created, user: toPublicUser(promoted.user) } : created };
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/api/admin/users/:id',
    access: ADMIN,
    summary: "Change a user's status or role. Either ends all their sessions. A promotion to admin waits for a second admin (202) while the two-person rule applies.",
    response: responds<UserResponse | PendingChangeResponse>(),
    stepUp: true,
    params: UserIdParams,
    body: z
      .strictObject({ status: z.enum(USER_STATUSES).optional(), role: z.enum(ROLES).optional() })
      .refine((b) => b.status !== undefined || b.role !== undefined, 'Give a status or a role to change.'),
    async handler({ params, body, user, deps, audit }) {
      // Threat model G9: a second admin approves every new admin.
      const gate = await gatePromotion(deps, { requester: user, userId: params.id, change: body, context: audit });
      if (gate.held === 'already_waiting') throw alreadyWaiting();
      if (gate.held) return { status: 202, body: { pendingChange: toPendingChangeView(gate.pendingChange) } };
      const result = await changeUser(deps, { userId: params.id, status: body.status, role: body.role, context: audit, twoPersonRule: gate.note });
      if (!result.changed && result.reason === 'not_found') throw notFound('No such user.');
      if (!result.changed) throw lastAdmin();
      return { body: { user: toPublicUser(result.user) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/admin/users/:id/enrollment',
    access: ADMIN,
    summary:
      'Issue a new one-time enrollment link for a user (replaces any unused one). For a user with an active key or an admin, the link works only once a second admin approves (202) while the two-person rule applies.',
    response: responds<NewEnrollmentResponse | PendingEnrollmentLinkResponse>(),
    stepUp: true,
    params: UserIdParams,
    async handler({ params, user, deps, audit }) {
      // Threat model G9: whoever opens a recovery link for an enrolled user or an admin takes the account over.
      const gate = await gateRecoveryLink(deps, { requester: user, userId: params.id, context: audit });
      if (gate.held === 'already_waiting') throw alreadyWaiting();
      if (gate.held) {
        const enrollment = { url: gate.url, validHoursAfterApproval: deps.config.enrollmentTtlHours };
        return { status: 202, body: { pendingChange: toPendingChangeView(gate.pendingChange), enrollment } };
      }
      const link = await withTransaction(deps.pool, (client) =>
        issueEnrollmentLink(client, { config: deps.config, userId: params.id, context: audit, twoPersonRule: gate.note }),
      );
      if (!link) throw notFound('No such user.');
      return { status: 201, body: link };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/admin/users/:id',
    access: ADMIN,
    summary: 'Delete a user and their keys (never the last active admin). Their audit history stays.',
    stepUp: true,
    params: UserIdParams,
    async handler({ params, deps, audit }) {
      const result = await deleteUser(deps, { userId: params.id, context: audit });
      if (!result.deleted && result.reason === 'not_found') throw notFound('No such user.');
      if (!result.deleted && result.reason === 'still_referenced') {
        throw new HttpError(409, 'CONFLICT', 'Other records still belong to this user; disable the account instead.');
      }
      if (!result.deleted) throw lastAdmin();
      return {};
    },
  }),
];

const KeyParams = z.strictObject({ id: z.uuid('not a key id') });


const KEY_CHANGE_REFUSALS = {
  not_found: [404, 'NOT_FOUND', 'No such security key.'],
  target_not_found: [404, 'NOT_FOUND', 'No such user to give the key to.'],
  last_key: [409, 'LAST_KEY', 'That is your last active key: you would lock yourself out.'],
  reason_required: [400, 'VALIDATION_FAILED', 'Give a reason to reactivate a key suspended by clone detection.'],
  no_change: [409, 'CONFLICT', 'The key is already in that state.'],
  owner_moved: [409, 'CONFLICT', 'The key kept changing owner while you were changing it. Reload and try again.'],
} as const satisfies Record<KeyChangeFailure, Refusal>;

const keyChangeError = (reason: KeyChangeFailure) => refusalFor(KEY_CHANGE_REFUSALS, reason);

export const adminKeyRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/admin/keys',
    access: ADMIN,
    summary: 'Every security key, filtered by owner (id or username) or status (keyset pagination).',
    response: responds<KeyListResponse>(),
    query: z.strictObject({
      /** One key by id (links from the audit log). */
      key: z.uuid().optional(),
      userId: z.uuid().optional(),
      // Any text: a name nobody has simply matches no keys.
      owner: z.string().trim().min(1).max(100).optional(),
      status: z.enum(KEY_STATUSES).optional(),
      after: timeIdCursor.schema.optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
    }),
    async handler({ query, deps }) {
      const owner = query.owner ? await getUserByUsername(deps.pool, query.owner) : null;
      // Nobody by that name, or a name and an id that disagree: no keys match.
      if (query.owner && (!owner || (query.userId && query.userId !== owner.id))) {
        return { body: { keys: [], nextCursor: null } };
      }
      const rows = await listKeys(deps.pool, { ...query, id: query.key, userId: owner?.id ?? query.userId, limit: query.limit + 1 });
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => timeIdCursor.encode(last.created_cursor, last.id));
      return { body: { keys: page.map(toKeyView), nextCursor } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/admin/keys/:id/status',
    access: ADMIN,
    summary: 'Deactivate or reactivate a key (a suspended key needs a reason). Deactivating ends its sessions.',
    response: responds<KeyResponse>(),
    stepUp: true,
    params: KeyParams,
    body: z.strictObject({ status: z.enum(['active', 'deactivated']), reason: z.string().trim().min(3).max(500).optional() }),
    async handler({ params, body, deps, audit }) {
      const result = await setKeyStatusAsAdmin(deps, { keyId: params.id, status: body.status, reason: body.reason, context: audit });
      if (!result.changed) throw keyChangeError(result.reason);
      if (!result.key) throw keyChangeError('not_found');
      return { body: { key: toKeyView(result.key) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/admin/keys/:id/reassign',
    access: ADMIN,
    summary: 'Give a key to another user. Its sessions end.',
    response: responds<KeyResponse>(),
    stepUp: true,
    params: KeyParams,
    body: z
      .strictObject({ userId: z.uuid().optional(), username: Username.optional() })
      .refine((b) => (b.userId === undefined) !== (b.username === undefined), 'Give either the new owner’s id or their username.'),
    async handler({ params, body, deps, audit }) {
      const userId = body.userId ?? (await getUserByUsername(deps.pool, body.username!))?.id;
      if (!userId) throw keyChangeError('target_not_found');
      const result = await reassignKeyAsAdmin(deps, { keyId: params.id, userId, context: audit });
      if (!result.changed) throw keyChangeError(result.reason);
      if (!result.key) throw keyChangeError('not_found');
      return { body: { key: toKeyView(result.key) } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/admin/keys/:id',
    access: ADMIN,
    summary: 'Delete a key. Its sessions end.',
    stepUp: true,
    params: KeyParams,
    async handler({ params, deps, audit }) {
      const result = await deleteKeyAsAdmin(deps, { keyId: params.id, context: audit });
      if (!result.changed) throw keyChangeError(result.reason);
      return {};
    },
  }),
];

import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { DetectorListResponse, PairDetectorResponse, PairingCodeResponse } from '../../shared/detector.ts';
import { getLiveDetectorsForUser, listLiveDetectors } from '../db/detectors.ts';
import type { Deps } from '../deps.ts';
import { detectorViews, revokeDetectorAs } from '../detector/manageDetectors.ts';
import { issuePairingCode, pairDetector } from '../detector/pairing.ts';
import { HttpError, notFound, rateLimited } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { pageOf, timeIdCursor } from '../http/cursors.ts';

const DetectorParams = z.strictObject({ id: z.uuid('not a detector id') });


/** Pairing attempts per IP (seed design: device registration 10/h per IP), checked before any code is looked at. */
const pairingLimiters = new WeakMap<Deps, RateLimiterRedis>();
async function consumePairingAttempt(deps: Deps, ip: string): Promise<void> {
  let limiter = pairingLimiters.get(deps);
  if (!limiter) {
    limiter = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: 'rl:detector-pair-ip', points: deps.config.detector.pairingsPerHourPerIp, duration: 3600 });
    pairingLimiters.set(deps, limiter);
  }
  try {
    await limiter.consume(ip);
  } catch (rejection) {
    // A RateLimiterRes is the verdict; an Error is Redis failing, which fails closed (503).
    if (rejection instanceof RateLimiterRes) throw rateLimited(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), 'Too many pairing attempts from this address. Try again later.');
    throw rejection;
  }
}

export const detectorRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/detectors/pairing-codes',
    access: 'signed-in',
    // A paired detector can end its owner's grants and raise alarms in their sessions: a stolen
    // or unattended session must not pair one without a touch of the owner's key (G19).
    stepUp: true,
    summary: 'A one-time code (10 minutes, single use) to pair a detector, with the command to run. Needs a fresh step-up.',
    response: responds<PairingCodeResponse>(),
    // Each code is a row and an audit event; nobody pairs more than a few detectors an hour.
    rateLimit: { name: 'pairing-codes', points: 30, windowSeconds: 3600 },
    async handler({ user, deps, audit }) {
      return { status: 201, body: await issuePairingCode(deps, { user, context: audit }) };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/detectors/pair',
    access: 'public',
    summary: 'The detector trades a pairing code for its device key (shown once).',
    response: responds<PairDetectorResponse>(),
    body: z.strictObject({
      code: z.string().min(1).max(32),
      name: z
        .string()
        .trim()
        .min(1)
        .max(64)
        .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters')
        .optional(),
    }),
    async handler({ req, body, deps, audit }) {
      await consumePairingAttempt(deps, req.ip ?? 'unknown');
      const result = await pairDetector(deps, { code: body.code, name: body.name ?? 'Detector', context: audit });
      if (!result.paired) throw new HttpError(400, 'PAIRING_CODE_INVALID', 'This pairing code is wrong, expired or already used. Make a new one in Argus.');
      return { status: 201, body: result.credentials };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/detectors',
    access: 'signed-in',
    summary: "The signed-in user's paired detectors, online or not, with the keys they see.",
    response: responds<DetectorListResponse>(),
    async handler({ user, deps }) {
      return { body: { detectors: await detectorViews(deps, await getLiveDetectorsForUser(deps.pool, user.id)), nextCursor: null } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/detectors/:id',
    access: 'signed-in',
    summary: 'Revoke one of your detectors; its connection closes at once.',
    params: DetectorParams,
    async handler({ user, params, deps, audit }) {
      const revoked = await revokeDetectorAs(deps, { detectorId: params.id, ownerId: user.id, context: audit });
      if (!revoked) throw notFound('No such detector on your account.');
      return {};
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/admin/detectors',
    access: ['admin'],
    summary: 'Every paired detector with online status and last seen (keyset pagination).',
    response: responds<DetectorListResponse>(),
    query: z.strictObject({
      after: timeIdCursor.schema.optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
    }),
    async handler({ query, deps }) {
      const rows = await listLiveDetectors(deps.pool, { after: query.after, limit: query.limit + 1 });
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => timeIdCursor.encode(last.created_cursor, last.id));
      return { body: { detectors: await detectorViews(deps, page), nextCursor } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/admin/detectors/:id',
    access: ['admin'],
    stepUp: true,
    summary: "Revoke anyone's detector; its connection closes at once.",
    params: DetectorParams,
    async handler({ params, deps, audit }) {
      const revoked = await revokeDetectorAs(deps, { detectorId: params.id, ownerId: null, context: audit });
      if (!revoked) throw notFound('No such detector.');
      return {};
    },
  }),
];

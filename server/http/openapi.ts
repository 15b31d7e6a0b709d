import { z } from 'zod';
import { ERROR_CODES } from '../../shared/errors.ts';
import { SESSION_COOKIE } from '../routes/auth.ts';
import { defineRoute, responds, type RouteSpec } from './route.ts';

type JsonSchema = Record<string, unknown>;

/** A route schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), describing what clients send. */
function schemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Express's `/api/things/:id` → OpenAPI's `/api/things/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parametersOf(route: RouteSpec): unknown[] {
  const parameters: unknown[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const json = schemaOf(schema as z.ZodType) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      parameters.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: property });
    }
  }
  // Path parameters the schema leaves out are still part of the path.
  for (const [, name] of route.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
    if (!parameters.some((p) => (p as { name: string; in: string }).name === name && (p as { in: string }).in === 'path')) {
      parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
  }
  return parameters;
}

function accessText(route: RouteSpec): string {
  if (route.access === 'public') return 'Public.';
  if (route.access === 'signed-in') return 'Any signed-in user.';
  return `Roles: ${route.access.join(', ')}.`;
}

/** A route's own request budget, in words (the deployment may multiply it: ROUTE_RATE_LIMIT_FACTOR). */
function rateLimitText(route: RouteSpec): string {
  if (!route.rateLimit) return '';
  const { points, windowSeconds } = route.rateLimit;
  const window = windowSeconds % 3600 === 0 ? `${windowSeconds / 3600} h` : windowSeconds % 60 === 0 ? `${windowSeconds / 60} min` : `${windowSeconds} s`;
  return ` At most ${points} requests per caller per ${window} (429 RATE_LIMITED after that).`;
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/**
 * The OpenAPI 3.1 document, generated from the very route list that is mounted, so it can
 * only be as wrong as the routes' own schemas. Responses are described generically (every
 * error has the same shape with a stable code); access rules are in `x-argus-access`.
 */
export function buildOpenApi(routes: readonly RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Record<string, unknown> = {
      operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: route.summary,
      description: accessText(route) + rateLimitText(route),
      'x-argus-access': route.access,
      tags: [route.path.split('/')[2] ?? 'api'],
      parameters: parametersOf(route),
      security: route.access === 'public' ? [] : [{ session: [] }],
      responses: {
        '200': { description: 'Success (JSON, or Server-Sent Events for streaming routes).' },
        '204': { description: 'Success, no content.' },
        '400': errorResponse('Invalid input: `VALIDATION_FAILED` with `issues`, or another stable code.'),
        ...(route.access === 'public' ? {} : { '401': errorResponse('Not signed in, or the session ended.'), '403': errorResponse('Not allowed for this role, or a fresh security-key touch is required.') }),
        '429': errorResponse('Rate limited; see Retry-After.'),
        '503': errorResponse('A dependency (Postgres, Redis) is unavailable; the request was refused safely.'),
      },
    };
    if (route.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(route.body as z.ZodType) } } };
    }
    (paths[openApiPath(route.path)] ??= {})[route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Argus API',
      version,
      description:
        `Every state-changing request must carry an Origin header equal to the server origin and a JSON content type (CSRF defence). Sessions are the \`${SESSION_COOKIE}\` cookie.`,
    },
    paths,
    components: {
      securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', enum: [...ERROR_CODES] },
                message: { type: 'string' },
                requestId: { type: 'string' },
                retryAfter: { type: 'integer', minimum: 0 },
                issues: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
              },
            },
          },
        },
      },
    },
  };
}

/** GET /api/openapi.json, built once from `routes()` (a function: the list includes this route). */
export function openApiRoute(routes: () => readonly RouteSpec[], version: string): RouteSpec {
  let document: Record<string, unknown> | null = null;
  return defineRoute({
    method: 'get',
    path: '/api/openapi.json',
    access: 'public',
    summary: 'This API described as OpenAPI 3.1.',
    response: responds<Record<string, unknown>>(),
    async handler() {
      document ??= buildOpenApi(routes(), version);
      return { body: document };
    },
  });
}

import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../app.ts';
import { startTestNode, type TestNode } from '../test/harness.ts';
import { openApiPath } from './openapi.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; parameters: Array<{ name: string; in: string }>; 'x-argus-access': unknown }>> };

describe('the OpenAPI document at /api/openapi.json', () => {
  let node: TestNode;
  let doc: Doc;
  beforeAll(async () => {
    node = await startTestNode();
    const response = await fetch(`${node.url}/api/openapi.json`);
    expect(response.status).toBe(200);
    doc = (await response.json()) as Doc;
  });
  afterAll(async () => {
    await node.destroy();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('describes every route mounted on the API router, with its method', () => {
    // Walk what Express actually serves, not the list the document was built from, so a route
    // mounted some other way is caught too.
    type Layer = { route?: { path: string; methods: Record<string, boolean> } };
    const api = node.app.get('api router') as { stack: Layer[] };
    const mounted = api.stack.flatMap((layer) => (layer.route ? Object.keys(layer.route.methods).map((method) => `${method} ${layer.route!.path}`) : []));
    expect(mounted.length).toBeGreaterThanOrEqual(API_ROUTES.length);
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`));
    for (const route of mounted) {
      const [method, path] = route.split(' ') as [string, string];
      expect(documented).toContain(`${method} ${openApiPath(path)}`);
    }
  });

  it('gives every route its body schema, path parameters and access rule', () => {
    for (const route of API_ROUTES) {
      const operation = doc.paths[openApiPath(route.path)]?.[route.method];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation!['x-argus-access']).toEqual(route.access);
      expect(Boolean(operation!.requestBody), `${route.method} ${route.path} body`).toBe(Boolean(route.body));
      for (const [, name] of route.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
        expect(operation!.parameters).toContainEqual(expect.objectContaining({ name, in: 'path' }));
      }
    }
  });
});

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { hostname } from 'node:os';
import path from 'node:path';
import type { PairDetectorRequest, PairDetectorResponse } from '../../shared/detector.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import { saveCredentials, type DetectorCredentials } from './credentials.ts';

export class PairingError extends Error {
  override name = 'PairingError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A server origin as typed: https://host[:port] (http only for localhost-style testing). */
export function parseServer(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new PairingError('BAD_SERVER', `--server must be a URL like https://argus.example.com (got "${server}").`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PairingError('BAD_SERVER', `--server must be https:// (got ${url.protocol}).`);
  return new URL(url.origin);
}

/** POSTs JSON with TLS verification on (and a custom CA when given). */
function postJson(url: URL, body: unknown, ca: Buffer | undefined): Promise<{ status: number; body: unknown }> {
  const payload = JSON.stringify(body);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), origin: url.origin, 'user-agent': 'argus-detector' },
        ...(url.protocol === 'https:' ? { ca, rejectUnauthorized: true } : {}),
        timeout: 15_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = null;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            parsed = null;
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('the server did not answer within 15 s')));
    request.on('error', reject);
    request.end(payload);
  });
}

/**
 * Trades a one-time pairing code for this detector's device key and stores it, owner-only,
 * in the config directory.
 */
export async function pair({
  code,
  server,
  configDir,
  caFile = null,
  name = hostname().slice(0, 64) || 'Detector',
}: {
  code: string;
  server: string;
  configDir: string;
  caFile?: string | null;
  name?: string;
}): Promise<{ credentials: DetectorCredentials; file: string }> {
  const origin = parseServer(server);
  const ca = caFile ? await readFile(caFile) : undefined;
  const request: PairDetectorRequest = { code, name };
  let answer;
  try {
    answer = await postJson(new URL('/api/detectors/pair', origin), request, ca);
  } catch (error) {
    throw new PairingError('UNREACHABLE', `Could not reach ${origin.origin}: ${(error as Error).message}`);
  }
  if (answer.status !== 201) {
    const error = (answer.body as ErrorBody | null)?.error;
    throw new PairingError(error?.code ?? `HTTP_${answer.status}`, error?.message ?? `The server answered ${answer.status}.`);
  }
  const paired = answer.body as PairDetectorResponse;
  const credentials: DetectorCredentials = { ...paired, server: origin.origin, caFile: caFile ? path.resolve(caFile) : null, pairedAt: new Date().toISOString() };
  return { credentials, file: await saveCredentials(configDir, credentials) };
}

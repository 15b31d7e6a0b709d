import { query } from '@solidjs/router';
import type { DataKeysResponse, OverviewResponse } from '../../shared/api.ts';
import { request } from './http.ts';

/** GET /api/admin/overview: the last 24 hours hour by hour, and what is live now. */
export const fetchOverview = query(() => request<OverviewResponse>('GET', '/api/admin/overview'), 'adminOverview');

/** GET /api/admin/data-keys: encryption at rest of restricted conversations (data keys per KEK, rotation, plaintext left). */
export const fetchDataKeys = query(() => request<DataKeysResponse>('GET', '/api/admin/data-keys'), 'adminDataKeys');

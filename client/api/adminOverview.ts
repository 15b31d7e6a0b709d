import { query } from '@solidjs/router';
import type { OverviewResponse } from '../../shared/api.ts';
import { request } from './http.ts';

/** GET /api/admin/overview: the last 24 hours hour by hour, and what is live now. */
export const fetchOverview = query(() => request<OverviewResponse>('GET', '/api/admin/overview'), 'adminOverview');

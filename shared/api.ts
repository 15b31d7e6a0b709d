/**
 * Request and response types of the JSON API. Only what crosses the wire lives here; one file
 * per domain under shared/api/, re-exported here so callers import from one place.
 */
export * from './api/users.ts';
export * from './api/keys.ts';
export * from './api/grants.ts';
export * from './api/conversations.ts';
export * from './api/adminConsole.ts';
export * from './api/pendingChanges.ts';

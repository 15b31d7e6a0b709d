/**
 * The detector protocol: what a paired local detector (client/detector) and the server say
 * to each other over the WebSocket at /ws/detector, and the HTTP shapes of pairing and of
 * the detector lists. A detector's reports can end grants and raise alarms, never create
 * or extend a grant (docs/architecture.md invariant 2).
 */

/** The first subprotocol a detector offers, and the only one the server echoes. */
export const DETECTOR_PROTOCOL = 'argus-detector.v1';
export const DETECTOR_PATH = '/ws/detector';

/** Pairing codes: 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L, U/V). */
export const PAIRING_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTWXYZ23456789';
export const PAIRING_CODE_LENGTH = 8;
export const PAIRING_CODE_TTL_SECONDS = 600;

/** The largest frame a detector may send; larger ones close the connection (1009). */
export const DETECTOR_MAX_FRAME_BYTES = 16 * 1024;
/** The most keys one report may list. */
export const DETECTOR_MAX_KEYS = 32;

/** The FIDO HID usage page (FIDO Alliance CTAPHID). */
export const FIDO_USAGE_PAGE = 0xf1d0;

/** One FIDO key as the detector sees it through the OS HID layer. Metadata, never proof. */
export interface DetectedKey {
  vendorId: number;
  productId: number;
  product: string | null;
  manufacturer: string | null;
  /** node-hid exposes it where the OS does; the binding between a key and a credential. */
  serialNumber: string | null;
}

/** Detector → server. */
export type DetectorMessage =
  /** Sent first on every (re)connect: every FIDO key present now. */
  | { type: 'hello'; keys: DetectedKey[] }
  | { type: 'attach'; key: DetectedKey }
  | { type: 'detach'; key: DetectedKey }
  /** Every 60 s: which detector, its clock, and the memory it uses (bytes). */
  | { type: 'heartbeat'; detectorId: string; at: string; memoryBytes: number };

/** Server → detector. */
export type DetectorServerMessage = { type: 'welcome'; detectorId: string; heartbeatSeconds: number };

/** Close codes on /ws/detector, with the reason string sent alongside. */
export const DETECTOR_CLOSE = {
  /** 1001: the server is shutting down; reconnect with backoff. */
  GOING_AWAY: 1001,
  /** 1009: a frame larger than DETECTOR_MAX_FRAME_BYTES. */
  TOO_BIG: 1009,
  /** 4400: not JSON, or not a message of the protocol. */
  MALFORMED: 4400,
  /** 4409: a valid message at the wrong time (e.g. a delta before hello, another detector's id). */
  UNEXPECTED: 4409,
  /** 4429: more messages than the per-connection rate allows. */
  TOO_MANY_MESSAGES: 4429,
  /** 4403: the detector was revoked; do not reconnect, pair again. */
  REVOKED: 4403,
  /** 4408: a newer connection of the same detector took over. */
  REPLACED: 4408,
} as const;

/**
 * Close codes after which a detector must not reconnect by itself: revoked, or another copy
 * of the same detector connected (two copies would otherwise take turns forever).
 */
export const DETECTOR_FINAL_CLOSE_CODES: readonly number[] = [DETECTOR_CLOSE.REVOKED, DETECTOR_CLOSE.REPLACED];

/** POST /api/detectors/pairing-codes */
export interface PairingCodeResponse {
  code: string;
  expiresAt: string;
  /** The exact commands to run on the computer the key is plugged into. */
  commands: { npx: string; checkout: string };
}

/** POST /api/detectors/pair (the detector calls it; the code authenticates). */
export interface PairDetectorRequest {
  code: string;
  name?: string;
}
export interface PairDetectorResponse {
  detectorId: string;
  /** Send as the second subprotocol, `<keyId>.<secret>`. The secret is shown only once. */
  keyId: string;
  secret: string;
}

/** A paired detector as its owner (or an admin) sees it. Never its key. */
export interface DetectorView {
  id: string;
  name: string;
  ownerId: string;
  ownerUsername: string;
  createdAt: string;
  lastSeenAt: string | null;
  online: boolean;
  /** FIDO keys it reports now (empty when offline). */
  keys: DetectedKey[];
}

/** GET /api/detectors, GET /api/admin/detectors */
export interface DetectorListResponse {
  detectors: DetectorView[];
  nextCursor: string | null;
}

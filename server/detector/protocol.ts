import { z } from 'zod';
import { DETECTOR_MAX_KEYS, type DetectedKey, type DetectorMessage } from '../../shared/detector.ts';

/**
 * Postgres text and jsonb hold neither U+0000 nor a lone UTF-16 surrogate: a report carrying
 * one could never be recorded (or audited).
 */
const STORABLE = /^(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;
const Text = z.string().max(128).regex(STORABLE, 'no NUL characters or lone surrogates').nullable();

export const DetectedKeySchema = z.strictObject({
  vendorId: z.number().int().min(0).max(0xffff),
  productId: z.number().int().min(0).max(0xffff),
  product: Text,
  manufacturer: Text,
  serialNumber: z.string().min(1).max(128).regex(STORABLE, 'no NUL characters or lone surrogates').nullable(),
});

/** Every message a detector may send; anything else closes its connection (DETECTOR_CLOSE.MALFORMED). */
export const DetectorMessageSchema: z.ZodType<DetectorMessage> = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), keys: z.array(DetectedKeySchema).max(DETECTOR_MAX_KEYS) }),
  z.strictObject({ type: z.literal('attach'), key: DetectedKeySchema }),
  z.strictObject({ type: z.literal('detach'), key: DetectedKeySchema }),
  z.strictObject({
    type: z.literal('heartbeat'),
    detectorId: z.uuid(),
    at: z.iso.datetime().max(64),
    memoryBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
]);

/** One physical key: vendor, product and serial (keys without a serial collapse per model). */
export function keyIdentity(key: DetectedKey): string {
  return `${key.vendorId}:${key.productId}:${key.serialNumber ?? ''}`;
}

/** The keys of `after` not in `before`, and those of `before` not in `after`. */
export function diffKeys(before: readonly DetectedKey[], after: readonly DetectedKey[]): { attached: DetectedKey[]; detached: DetectedKey[] } {
  const beforeIds = new Set(before.map(keyIdentity));
  const afterIds = new Set(after.map(keyIdentity));
  return {
    attached: after.filter((key) => !beforeIds.has(keyIdentity(key))),
    detached: before.filter((key) => !afterIds.has(keyIdentity(key))),
  };
}

/** One entry per physical key. */
export function distinctKeys(keys: readonly DetectedKey[]): DetectedKey[] {
  const seen = new Map<string, DetectedKey>();
  for (const key of keys) if (!seen.has(keyIdentity(key))) seen.set(keyIdentity(key), key);
  return [...seen.values()];
}

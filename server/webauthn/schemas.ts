import { z } from 'zod';

/** Shapes of what @simplewebauthn/browser sends, with size bounds; verification comes after. */
const b64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*$/, 'not base64url');

const MAX_EXTENSION_RESULTS = 16;

const TRANSPORTS = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;

const common = {
  id: b64url(1400).min(1),
  rawId: b64url(1400).min(1),
  type: z.literal('public-key'),
  // Browsers report a handful of extensions (credProps, prf, largeBlob…); their values stay opaque,
  // bounded by the body size and JSON depth limits.
  clientExtensionResults: z
    .record(z.string().max(64), z.unknown())
    .refine((results) => Object.keys(results).length <= MAX_EXTENSION_RESULTS, `at most ${MAX_EXTENSION_RESULTS} extension results`)
    .default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};

export const AuthenticationResponseSchema = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64url(4096).min(1),
    authenticatorData: b64url(4096).min(1),
    signature: b64url(2048).min(1),
    userHandle: b64url(512).optional(),
  }),
});

export const RegistrationResponseSchema = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64url(4096).min(1),
    attestationObject: b64url(32768).min(1),
    authenticatorData: b64url(4096).optional(),
    transports: z.array(z.enum(TRANSPORTS)).max(8).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url(4096).optional(),
  }),
});

export const HidDeviceInfoSchema = z.strictObject({
  vendorId: z.number().int().min(0).max(0xffff),
  productId: z.number().int().min(0).max(0xffff),
  productName: z.string().max(128),
});

export const Nickname = z.string().trim().min(1, 'Give the key a name.').max(64);

/** A new key, on the account page or at enrollment: the browser's response, a name, and what WebHID told of the device. */
export const KeyRegistrationBody = z.strictObject({ response: RegistrationResponseSchema, nickname: Nickname.optional(), hid: HidDeviceInfoSchema.optional() });

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseKeyList, persistedOnce } from './keyFiles.ts';

/**
 * Encryption at rest of restricted conversations (docs/architecture.md invariant 9, threat-model G17).
 *
 * Each restricted conversation has its own random 256-bit data key (DEK). Its title and every
 * message are sealed with AES-256-GCM under that DEK; the DEK is stored wrapped (AES-256-GCM as
 * well) by a key-encryption key (KEK) from configuration, named by its id beside it
 * (`conversation.kek_id`). Rotating the KEK re-wraps the DEKs and touches no message.
 *
 * Every sealed value is
 *
 *     version (1 byte, 0x01) ‖ iv (12 bytes) ‖ tag (16 bytes) ‖ ciphertext
 *
 * and its additional data binds it to where it belongs, so a ciphertext copied to another row
 * does not open:
 *   message: "argus.message.v1" LF conversation id LF message id LF role
 *   title:   "argus.title.v1" LF conversation id LF "title"
 *   DEK:     "argus.dek.v1" LF conversation id LF KEK id
 */

/** A key-encryption key from DATA_ENCRYPTION_KEY(S): an id and 32 bytes. */
export interface DataEncryptionKey {
  id: string;
  key: Buffer;
}

const FORMAT_V1 = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
/** AES-256: a 32-byte key, for both the KEKs and the DEKs. */
export const DATA_KEY_BYTES = 32;

/** Why a stored ciphertext did not open: never garbage, always this. */
export type UnreadableReason = 'unknown_kek' | 'bad_format' | 'auth_failed';

/**
 * A ciphertext that does not open under its key and place: moved from another row, altered,
 * or wrapped under a KEK that is no longer configured. Its message names no content.
 */
export class UnreadableCiphertextError extends Error {
  override name = 'UnreadableCiphertextError';
  constructor(
    readonly reason: UnreadableReason,
    readonly what: 'data_key' | 'title' | 'message',
  ) {
    super(`${what} ciphertext unreadable: ${reason}`);
  }
}

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT_V1), iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer, aad: string, what: UnreadableCiphertextError['what']): Buffer {
  if (sealed.length < HEADER_BYTES || sealed[0] !== FORMAT_V1) throw new UnreadableCiphertextError('bad_format', what);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(1 + IV_BYTES, HEADER_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]);
  } catch {
    throw new UnreadableCiphertextError('auth_failed', what);
  }
}

const messageAad = (conversationId: string, messageId: string, role: string) => `argus.message.v1\n${conversationId}\n${messageId}\n${role}`;
const titleAad = (conversationId: string) => `argus.title.v1\n${conversationId}\ntitle`;
const dataKeyAad = (conversationId: string, kekId: string) => `argus.dek.v1\n${conversationId}\n${kekId}`;

/** One conversation's unwrapped data key: unwrap it once per request and seal or open everything with it. */
export class ConversationKey {
  constructor(
    readonly conversationId: string,
    private readonly dek: Buffer,
  ) {}

  sealMessage(messageId: string, role: 'user' | 'assistant', content: string): Buffer {
    return seal(this.dek, Buffer.from(content, 'utf8'), messageAad(this.conversationId, messageId, role));
  }

  openMessage(messageId: string, role: 'user' | 'assistant', sealed: Buffer): string {
    return open(this.dek, sealed, messageAad(this.conversationId, messageId, role), 'message').toString('utf8');
  }

  sealTitle(title: string): Buffer {
    return seal(this.dek, Buffer.from(title, 'utf8'), titleAad(this.conversationId));
  }

  openTitle(sealed: Buffer): string {
    return open(this.dek, sealed, titleAad(this.conversationId), 'title').toString('utf8');
  }
}

/** A conversation's data key as stored: wrapped, and the id of the KEK that wrapped it. */
export interface WrappedDataKey {
  wrapped: Buffer;
  kekId: string;
}

/** The configured KEKs: the first wraps new data keys, every one unwraps (while a rotation runs). */
export class DataKeys {
  private readonly byId: Map<string, Buffer>;

  constructor(readonly keys: readonly DataEncryptionKey[]) {
    if (keys.length === 0) throw new Error('at least one data encryption key is needed');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKekId(): string {
    return this.keys[0]!.id;
  }

  get kekIds(): string[] {
    return this.keys.map((k) => k.id);
  }

  /** A new random data key for a conversation, and its wrapping under the current KEK. */
  newDataKey(conversationId: string): { key: ConversationKey; stored: WrappedDataKey } {
    const dek = randomBytes(DATA_KEY_BYTES);
    const kek = this.keys[0]!;
    return { key: new ConversationKey(conversationId, dek), stored: { wrapped: seal(kek.key, dek, dataKeyAad(conversationId, kek.id)), kekId: kek.id } };
  }

  unwrap(conversationId: string, stored: WrappedDataKey): ConversationKey {
    const kek = this.byId.get(stored.kekId);
    if (!kek) throw new UnreadableCiphertextError('unknown_kek', 'data_key');
    const dek = open(kek, stored.wrapped, dataKeyAad(conversationId, stored.kekId), 'data_key');
    if (dek.length !== DATA_KEY_BYTES) throw new UnreadableCiphertextError('bad_format', 'data_key');
    return new ConversationKey(conversationId, dek);
  }

  /** The same data key wrapped under the current KEK (rotation): the messages stay as they are. */
  rewrap(conversationId: string, stored: WrappedDataKey): WrappedDataKey {
    const kek = this.byId.get(stored.kekId);
    if (!kek) throw new UnreadableCiphertextError('unknown_kek', 'data_key');
    const dek = open(kek, stored.wrapped, dataKeyAad(conversationId, stored.kekId), 'data_key');
    const current = this.keys[0]!;
    return { wrapped: seal(current.key, dek, dataKeyAad(conversationId, current.id)), kekId: current.id };
  }
}

/**
 * Parses DATA_ENCRYPTION_KEYS (`id:base64,id:base64`, the first current) or, with `single`,
 * DATA_ENCRYPTION_KEY (`base64` alone, id "default", or `id:base64`). Each key is exactly
 * 32 bytes (`openssl rand -base64 32`).
 */
export function parseDataEncryptionKeys(value: string, { single = false } = {}): DataEncryptionKey[] {
  return parseKeyList(value, {
    single,
    several: 'DATA_ENCRYPTION_KEYS',
    checkBytes: (bytes, id) =>
      bytes.length === DATA_KEY_BYTES ? null : `the key "${id}" is ${bytes.length} bytes; AES-256 needs exactly ${DATA_KEY_BYTES} (openssl rand -base64 32)`,
  }).map(({ id, bytes }) => ({ id, key: bytes }));
}

const DEV_KEY_FILE = 'data-encryption-key';

/**
 * Development and tests without a configured key: one generated on first start and kept under
 * the data directory (persistedOnce), so every node started from it reads the others' conversations.
 */
export function persistedDataEncryptionKey(dataDir: string): DataEncryptionKey {
  const kept = persistedOnce(dataDir, DEV_KEY_FILE, () => `local:${randomBytes(DATA_KEY_BYTES).toString('base64')}\n`);
  return parseDataEncryptionKeys(kept.trim())[0]!;
}

const dataKeysOfConfig = new WeakMap<object, DataKeys>();

/** The node's DataKeys, made once per configuration object. */
export function dataKeysFor(config: { dataEncryptionKeys: readonly DataEncryptionKey[] }): DataKeys {
  let keys = dataKeysOfConfig.get(config);
  if (!keys) dataKeysOfConfig.set(config, (keys = new DataKeys(config.dataEncryptionKeys)));
  return keys;
}

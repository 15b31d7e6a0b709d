import { describe, expect, it } from 'vitest';
import { IsoTimestamp, isStorableTimestamp } from './timestamps.ts';
import { timeIdCursor, usernameCursor } from './cursors.ts';

describe('isStorableTimestamp', () => {
  it.each([
    '2024-05-01T09:30:00Z',
    '2024-05-01T09:30:00.123Z',
    '2024-05-01T09:30:00.123456Z',
    '2024-02-29T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999+15:59',
    '2024-01-01T00:00:00-15:59',
  ])('accepts %s', (text) => {
    expect(isStorableTimestamp(text)).toBe(true);
    expect(IsoTimestamp.safeParse(text).success).toBe(true);
  });

  it.each([
    ['year 0', '0000-01-01T00:00:00Z'],
    ['a six-digit year', '+275760-09-13T00:00:00.000Z'],
    ['year 294277', '294277-01-01T00:00:00Z'],
    ['an offset beyond ±15:59', '2024-01-01T00:00:00-23:59'],
    ['offset +16:00', '2024-01-01T00:00:00+16:00'],
    ['offset minutes 60', '2024-01-01T00:00:00+01:60'],
    ['30 February', '2024-02-30T00:00:00Z'],
    ['29 February in a common year', '2023-02-29T00:00:00Z'],
    ['month 13', '2024-13-01T00:00:00Z'],
    ['hour 24', '2024-01-01T24:00:00Z'],
    ['a leap second', '2024-12-31T23:59:60Z'],
    ['no zone', '2024-01-01T00:00:00'],
    ['a bare number', '1'],
    ['a date alone', '2024-01-01'],
    ['a trailing NUL', '2024-01-01T00:00:00Z\u0000'],
    ['a space for T', '2024-01-01 00:00:00Z'],
  ])('refuses %s', (_what, text) => {
    expect(isStorableTimestamp(text)).toBe(false);
    expect(IsoTimestamp.safeParse(text).success).toBe(false);
  });
});

describe('cursors', () => {
  it('reads back what it writes', () => {
    const at = '2024-05-01T09:30:00.123456Z';
    const id = '6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11';
    expect(timeIdCursor.schema.parse(timeIdCursor.encode(at, id))).toEqual({ at, id });
    expect(usernameCursor.schema.parse(usernameCursor.encode('Alice.Example'))).toBe('alice.example');
  });

  it('refuses a cursor with an extra field, a bad id or characters outside base64url', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    expect(timeIdCursor.schema.safeParse(b64('2024-05-01T09:30:00Z|6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11|x')).success).toBe(false);
    expect(timeIdCursor.schema.safeParse(b64('2024-05-01T09:30:00Z|not-an-id')).success).toBe(false);
    expect(timeIdCursor.schema.safeParse('abc=').success).toBe(false);
    expect(usernameCursor.schema.safeParse(b64('Upper')).success).toBe(false);
    expect(usernameCursor.schema.safeParse('AA').success).toBe(false);
  });
});

const numbers = new Intl.NumberFormat();

/** "1 key", "2 keys", "2,431 events": a count in the reader's digits, its noun singular only for exactly one. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${numbers.format(count)} ${count === 1 ? singular : pluralForm}`;
}

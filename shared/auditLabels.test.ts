import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from './audit.ts';
import { actionLabel, AUDIT_ACTION_LABELS } from './auditLabels.ts';

describe('audit action labels', () => {
  it('name every action of the taxonomy, each differently', () => {
    expect(Object.keys(AUDIT_ACTION_LABELS).sort()).toEqual(Object.keys(AUDIT_ACTIONS).sort());
    const labels = Object.values(AUDIT_ACTION_LABELS);
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('show an action this build does not know by its code', () => {
    expect(actionLabel('auth.signin')).toBe('Signed in');
    expect(actionLabel('future.thing')).toBe('future.thing');
    expect(actionLabel('toString')).toBe('toString');
  });
});

import { diffRules } from './settings-apply';

const none = { excludedDomains: [], excludedAddresses: [], excludedLabels: [], excludeInternal: false, onlyKnownContacts: false };

describe('diffRules', () => {
  it('reports only new rules as tightened, compared in normal form', () => {
    const d = diffRules({ ...none, excludedDomains: ['acme.com'] }, { ...none, excludedDomains: ['@ACME.com', 'globex.com'], excludeInternal: true });
    expect(d.tightened.excludedDomains.map((r) => r.value)).toEqual(['globex.com']);
    expect(d.tightened.excludeInternal).toBe('org');
    expect(d.loosened).toBe(false);
  });
  it('reports a dropped or switched-off rule as loosened', () => {
    expect(diffRules({ ...none, excludedLabels: ['Personal'] }, none).loosened).toBe(true);
    expect(diffRules({ ...none, onlyKnownContacts: true }, none).loosened).toBe(true);
    expect(diffRules(none, none)).toMatchObject({ loosened: false, tightened: { excludedDomains: [], excludeInternal: false } });
  });
});

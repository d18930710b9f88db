import { evaluatePrivacy, isAddressExcluded, mergeRules, NO_RULES, type PrivacyRules } from './privacy';

const rules = (r: Partial<PrivacyRules>): PrivacyRules => ({ ...NO_RULES, ...r });
const ctx = (known: string[] = [], orgDomains = ['acme.com']) => ({
  isKnownContact: (email: string) => known.includes(email),
  orgDomains,
});
const msg = (participants: string[], extra: { labels?: string[]; direction?: 'inbound' | 'outbound' | 'internal' } = {}) => ({
  participants,
  labels: extra.labels ?? [],
  direction: extra.direction ?? ('inbound' as const),
});

describe('mergeRules', () => {
  it('adds user rules to org rules, normalised and deduplicated, keeping the org scope for shared entries', () => {
    const merged = mergeRules(
      rules({ excludedDomains: ['Example.com', '@hr-partner.com'], excludedAddresses: ['CEO@acme.com'], excludedLabels: ['Personal'] }),
      { excludedDomains: ['*.bank.com', 'example.com'], excludedAddresses: ['<doctor@clinic.org>'], excludedLabels: [' personal ', 'Family'] },
    );
    expect(merged.excludedDomains).toEqual([
      { value: 'example.com', scope: 'org' },
      { value: 'hr-partner.com', scope: 'org' },
      { value: 'bank.com', scope: 'user' },
    ]);
    expect(merged.excludedAddresses).toEqual([
      { value: 'ceo@acme.com', scope: 'org' },
      { value: 'doctor@clinic.org', scope: 'user' },
    ]);
    expect(merged.excludedLabels).toEqual([
      { value: 'personal', scope: 'org' },
      { value: 'family', scope: 'user' },
    ]);
  });

  it('lets a user tighten but never loosen the switches', () => {
    expect(mergeRules(rules({ excludeInternal: true }), { excludeInternal: false }).excludeInternal).toBe('org');
    expect(mergeRules(rules({}), { excludeInternal: true }).excludeInternal).toBe('user');
    expect(mergeRules(rules({}), null).onlyKnownContacts).toBe(false);
    expect(mergeRules(rules({ onlyKnownContacts: true }), { onlyKnownContacts: true }).onlyKnownContacts).toBe('org');
  });

  it('drops entries that are not domains or addresses instead of matching by accident', () => {
    const merged = mergeRules(rules({ excludedDomains: ['', 'not a domain', 'com.'], excludedAddresses: ['nobody'] }));
    expect(merged.excludedDomains).toEqual([]);
    expect(merged.excludedAddresses).toEqual([]);
  });
});

describe('evaluatePrivacy', () => {
  it('lets mail through when no rule matches', () => {
    expect(evaluatePrivacy(msg(['helen@globex.com', 'dana@acme.com']), mergeRules(NO_RULES), ctx())).toEqual({ excluded: false });
  });

  it('excludes a domain and its subdomains, case-insensitively, and names the rule', () => {
    const merged = mergeRules(rules({ excludedDomains: ['example.com'] }));
    for (const p of ['x@example.com', 'x@mail.example.com', 'X@MAIL.EXAMPLE.COM']) {
      expect(evaluatePrivacy(msg(['dana@acme.com', p]), merged, ctx())).toEqual({
        excluded: true,
        rule: { kind: 'domain', value: 'example.com', scope: 'org' },
      });
    }
    expect(evaluatePrivacy(msg(['x@notexample.com']), merged, ctx())).toEqual({ excluded: false });
    expect(evaluatePrivacy(msg(['x@example.com.evil.net']), merged, ctx())).toEqual({ excluded: false });
  });

  it('excludes an address in any position, however it is written', () => {
    const merged = mergeRules(NO_RULES, { excludedAddresses: ['doctor@clinic.org'] });
    expect(evaluatePrivacy(msg(['dana@acme.com', 'Dr Who <Doctor@Clinic.org>']), merged, ctx())).toEqual({
      excluded: true,
      rule: { kind: 'address', value: 'doctor@clinic.org', scope: 'user' },
    });
    expect(evaluatePrivacy(msg(['nurse@clinic.org']), merged, ctx())).toEqual({ excluded: false });
  });

  it('prefers the most specific reason when several rules match', () => {
    const merged = mergeRules(rules({ excludedDomains: ['clinic.org'], excludedLabels: ['health'] }), {
      excludedAddresses: ['doctor@clinic.org'],
    });
    const decision = evaluatePrivacy(msg(['doctor@clinic.org'], { labels: ['Health'] }), merged, ctx());
    expect(decision).toEqual({ excluded: true, rule: { kind: 'address', value: 'doctor@clinic.org', scope: 'user' } });
  });

  it('excludes by label, case-insensitively, nested labels included', () => {
    const merged = mergeRules(rules({ excludedLabels: ['Personal'] }));
    expect(evaluatePrivacy(msg(['h@globex.com'], { labels: ['INBOX', 'personal'] }), merged, ctx())).toMatchObject({
      excluded: true,
      rule: { kind: 'label', value: 'personal' },
    });
    expect(evaluatePrivacy(msg(['h@globex.com'], { labels: ['Personal/Family'] }), merged, ctx())).toMatchObject({ excluded: true });
    expect(evaluatePrivacy(msg(['h@globex.com'], { labels: ['Personalities'] }), merged, ctx())).toEqual({ excluded: false });
  });

  it('excludes internal mail only when the rule is on', () => {
    const internal = msg(['dana@acme.com', 'priya@acme.com'], { direction: 'internal' });
    expect(evaluatePrivacy(internal, mergeRules(NO_RULES), ctx())).toEqual({ excluded: false });
    expect(evaluatePrivacy(internal, mergeRules(NO_RULES, { excludeInternal: true }), ctx())).toEqual({
      excluded: true,
      rule: { kind: 'internal', scope: 'user' },
    });
    const outbound = msg(['dana@acme.com', 'h@globex.com'], { direction: 'outbound' });
    expect(evaluatePrivacy(outbound, mergeRules(rules({ excludeInternal: true })), ctx())).toEqual({ excluded: false });
  });

  it('in only-known-contacts mode, needs an outside participant who is a known contact', () => {
    const merged = mergeRules(rules({ onlyKnownContacts: true }));
    const known = ctx(['helen@globex.com', 'priya@acme.com']);
    expect(evaluatePrivacy(msg(['dana@acme.com', 'Helen@Globex.com']), merged, known)).toEqual({ excluded: false });
    expect(evaluatePrivacy(msg(['dana@acme.com', 'stranger@else.com']), merged, known)).toEqual({
      excluded: true,
      rule: { kind: 'onlyKnownContacts', scope: 'org' },
    });
    // A colleague recorded as a contact does not let internal mail through.
    expect(evaluatePrivacy(msg(['dana@acme.com', 'priya@acme.com']), merged, known)).toMatchObject({ excluded: true });
  });

  it('ignores unusable participants', () => {
    const merged = mergeRules(rules({ excludedDomains: ['example.com'] }));
    expect(evaluatePrivacy(msg(['', 'garbage', 'undisclosed-recipients:;']), merged, ctx())).toEqual({ excluded: false });
  });

  it('never reports which participant matched', () => {
    const merged = mergeRules(rules({ excludedDomains: ['example.com'] }));
    const decision = evaluatePrivacy(msg(['secret.person@example.com']), merged, ctx());
    expect(JSON.stringify(decision)).not.toContain('secret.person');
  });
});

describe('isAddressExcluded', () => {
  it('checks the address and domain rules for one address', () => {
    const merged = mergeRules(rules({ excludedDomains: ['bank.com'], excludedAddresses: ['ceo@acme.com'] }));
    expect(isAddressExcluded('x@online.bank.com', merged)).toBe(true);
    expect(isAddressExcluded('CEO@acme.com', merged)).toBe(true);
    expect(isAddressExcluded('cfo@acme.com', merged)).toBe(false);
    expect(isAddressExcluded('garbage', merged)).toBe(false);
  });
});

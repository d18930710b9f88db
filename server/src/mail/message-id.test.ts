import { normaliseMessageId } from './message-id';

describe('normaliseMessageId', () => {
  it.each([
    ['<AbC.123@Mail.Example.COM>', 'AbC.123@mail.example.com'],
    ['  <abc@x.org>  ', 'abc@x.org'],
    ['abc@X.ORG', 'abc@x.org'],
    ['<abc@x.org> <def@y.org>', 'abc@x.org'],
    ['<abc\r\n @x.org>', 'abc@x.org'],
    ['<no-at-sign-ID>', 'no-at-sign-ID'],
    ['<a@b@C.COM>', 'a@b@c.com'],
  ])('%j → %j', (input, expected) => {
    expect(normaliseMessageId(input)).toBe(expected);
  });
  it.each([[''], ['<>'], ['   '], [null], [undefined]])('%j → null', (input) => {
    expect(normaliseMessageId(input)).toBeNull();
  });
  it('refuses an id longer than a header line may be', () => {
    expect(normaliseMessageId(`<${'a'.repeat(999)}@x.org>`)).toBeNull();
  });
});

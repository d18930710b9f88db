import { parseAddressList } from './message';

describe('parseAddressList', () => {
  it('reads names, quotes with commas, bare addresses and groups', () => {
    expect(parseAddressList('Jane Doe <jane@acme.com>, "Smith, Bob" <bob@x.io>, pat@initech.com')).toEqual([
      { email: 'jane@acme.com', name: 'Jane Doe' },
      { email: 'bob@x.io', name: 'Smith, Bob' },
      { email: 'pat@initech.com', name: '' },
    ]);
    expect(parseAddressList('team: a@x.com, b@y.com;')).toEqual([
      { email: 'a@x.com', name: '' },
      { email: 'b@y.com', name: '' },
    ]);
    expect(parseAddressList('"A \\"Q\\" B" <q@x.com>')).toEqual([{ email: 'q@x.com', name: 'A "Q" B' }]);
  });

  it('skips what is not an address', () => {
    expect(parseAddressList('')).toEqual([]);
    expect(parseAddressList('undisclosed-recipients:;')).toEqual([]);
  });
});

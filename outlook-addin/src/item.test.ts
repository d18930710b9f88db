import { itemKey, readMessage } from './item';

const who = (emailAddress: string, displayName = '') => ({ emailAddress, displayName });

it('reads the headers of a received message, never more', () => {
  expect(
    readMessage({
      itemType: 'message',
      from: who('nora@northwind.com', 'Nora Lind'),
      sender: who('assistant@northwind.com'),
      to: [who('rita@contoso.com', 'Rita')],
      cc: [who(' cc@x.com '), who('')],
      subject: 'Hi',
      internetMessageId: ' <a@b> ',
    }),
  ).toEqual({
    from: { email: 'nora@northwind.com', name: 'Nora Lind' },
    to: [{ email: 'rita@contoso.com', name: 'Rita' }],
    cc: [{ email: 'cc@x.com', name: '' }],
    subject: 'Hi',
    internetMessageId: '<a@b>',
  });
});

it('falls back to the sender, and answers null for no item, an appointment or no address', () => {
  expect(readMessage({ sender: who('s@x.com') })?.from).toEqual({ email: 's@x.com', name: '' });
  expect(readMessage(null)).toBeNull();
  expect(readMessage({ itemType: 'appointment', from: who('a@x.com') })).toBeNull();
  expect(readMessage({ itemType: 'message', from: null })).toBeNull();
});

it('keys an item by Message-ID, sender and subject', () => {
  const m = readMessage({ from: who('a@x.com'), subject: 's', internetMessageId: '<1@x>' });
  expect(itemKey(m)).toBe('<1@x>|a@x.com|s');
  expect(itemKey(null)).toBe('');
});

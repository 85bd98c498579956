import { hashOwnerId } from './hash';

describe('hashOwnerId', () => {
  it.each([
    ['team1', 'f623df4e20112b07'],
    ['agent1', 'fcf1a5605d79016e'],
    ['default', 'cb14bd8a5c561c96'],
    ['public', '61214ecf31784e87'],
    ['user1', '63edb0950fc8c927'],
  ])('hashes %s with XXH64 seed 0 like the original', (id, expected) => {
    expect(hashOwnerId(id)).toBe(expected);
    expect(hashOwnerId(id, 'xxh3')).toBe(expected);
  });

  it('drops leading zeros like Number#toString(16) did upstream', () => {
    expect(hashOwnerId('u985')).toBe('ece4d08cee02d');
  });

  it('returns the same value from the memo on repeated calls', () => {
    const first = hashOwnerId('memo-check');
    expect(hashOwnerId('memo-check')).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{1,16}$/);
  });

  it("is the identity with 'none'", () => {
    expect(hashOwnerId('team1', 'none')).toBe('team1');
    expect(hashOwnerId('', 'none')).toBe('');
  });
});

import { RecencyList, type RecencyItem } from './recency-list';

function item(key: string, size = 1): RecencyItem {
  return { key, size, older: undefined, newer: undefined };
}

const keys = (list: RecencyList<RecencyItem>) => list.items().map((entry) => entry.key);

describe('RecencyList', () => {
  it('drops the least recently used item past the count bound; get makes an item recent, peek does not', () => {
    const list = new RecencyList<RecencyItem>(3, 1_000);
    for (const key of ['a', 'b', 'c']) list.set(item(key));
    expect(list.get('a')?.key).toBe('a');
    expect(list.peek('b')?.key).toBe('b');
    expect(keys(list)).toEqual(['b', 'c', 'a']);
    list.set(item('d'));
    expect(keys(list)).toEqual(['c', 'a', 'd']);
    expect(list.peek('b')).toBeUndefined();
    expect(list.size).toBe(3);
  });

  it('keeps the bytes of what it holds, a replaced item counted once, and drops old items past the byte bound', () => {
    const list = new RecencyList<RecencyItem>(100, 10);
    list.set(item('a', 4));
    list.set(item('b', 4));
    list.set(item('a', 2));
    expect([list.bytes, keys(list)]).toEqual([6, ['b', 'a']]);
    list.set(item('c', 5));
    expect([list.bytes, keys(list)]).toEqual([7, ['a', 'c']]);
    // an item as large as the bound empties the rest, never itself
    list.set(item('big', 10));
    expect([list.bytes, keys(list)]).toEqual([10, ['big']]);
  });

  it('resize counts the new size, makes the item recent and drops old items past the byte bound', () => {
    const list = new RecencyList<RecencyItem>(100, 10);
    for (const key of ['a', 'b', 'c']) list.set(item(key, 3));
    list.resize(list.peek('a')!, 1);
    expect([list.bytes, keys(list)]).toEqual([7, ['b', 'c', 'a']]);
    list.resize(list.peek('a')!, 6);
    expect([list.bytes, keys(list)]).toEqual([9, ['c', 'a']]);
    list.resize(list.peek('a')!, 10);
    expect([list.bytes, keys(list), list.size]).toEqual([10, ['a'], 1]);
  });

  it('deletes from any place in the order and clears', () => {
    const list = new RecencyList<RecencyItem>(10, 100);
    for (const key of ['a', 'b', 'c', 'd']) list.set(item(key, 2));
    expect(list.delete('b')).toBe(true);
    expect(list.delete('a')).toBe(true);
    expect(list.delete('d')).toBe(true);
    expect(list.delete('nope')).toBe(false);
    expect([list.bytes, keys(list)]).toEqual([2, ['c']]);
    list.set(item('e', 2));
    expect(list.get('c')?.key).toBe('c');
    expect(keys(list)).toEqual(['e', 'c']);
    list.clear();
    expect([list.size, list.bytes, keys(list)]).toEqual([0, 0, []]);
    list.set(item('f'));
    expect(keys(list)).toEqual(['f']);
  });

  it('stays one consistent list under a random mix of operations', () => {
    const list = new RecencyList<RecencyItem>(8, 40);
    // the reference: an array in order of use, bounded the same way
    let model: RecencyItem[] = [];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let step = 0; step < 5_000; step++) {
      const key = `k${next() % 12}`;
      const op = next() % 5;
      if (op === 4) {
        // a held item changed in place: new size, now the most recent
        const found = model.find((entry) => entry.key === key);
        if (!found) continue;
        const held = list.peek(key)!;
        list.resize(held, 1 + (next() % 9));
        expect(held).toBe(found);
        model = [...model.filter((entry) => entry !== found), found];
        while (model.length > 8 || model.reduce((sum, entry) => sum + entry.size, 0) > 40) model.shift();
      } else if (op === 0) {
        const fresh = item(key, 1 + (next() % 9));
        list.set(fresh);
        model = [...model.filter((entry) => entry.key !== key), fresh];
        while (model.length > 8 || model.reduce((sum, entry) => sum + entry.size, 0) > 40) model.shift();
      } else if (op === 1) {
        const found = model.find((entry) => entry.key === key);
        expect(list.get(key)).toBe(found);
        if (found) model = [...model.filter((entry) => entry !== found), found];
      } else if (op === 2) {
        expect(list.peek(key)).toBe(model.find((entry) => entry.key === key));
      } else {
        expect(list.delete(key)).toBe(model.some((entry) => entry.key === key));
        model = model.filter((entry) => entry.key !== key);
      }
      expect(list.items()).toEqual(model);
      expect(list.bytes).toBe(model.reduce((sum, entry) => sum + entry.size, 0));
    }
  });
});

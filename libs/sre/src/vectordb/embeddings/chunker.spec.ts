import { SreInvalidInputError } from '../../core/errors';
import { chunkText } from './chunker';

describe('chunkText (the original recursive character splitter)', () => {
  it('keeps a short text whole and drops empty chunks', () => {
    expect(chunkText('  hello world  ', 100, 10)).toEqual(['hello world']);
    expect(chunkText('', 100, 10)).toEqual([]);
    expect(chunkText('\n\n\n', 100, 10)).toEqual([]);
  });

  it('splits on paragraphs first, then lines, then words, then characters; no chunk exceeds chunkSize', () => {
    const text = 'First paragraph here.\n\nSecond one, a bit longer than the first.\nWith a second line.';
    const chunks = chunkText(text, 30, 0);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(30);
    expect(chunks.join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
    expect(chunkText('x'.repeat(25), 10, 0)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('carries an overlap of at most chunkOverlap into the next chunk', () => {
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
    const chunks = chunkText(words, 20, 8);
    for (let i = 1; i < chunks.length; i++) {
      const previousWords = chunks[i - 1].split(' ');
      expect(previousWords).toContain(chunks[i].split(' ')[0]);
    }
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(20);
  });

  it('refuses a chunkSize that is not positive and an overlap not below it', () => {
    expect(() => chunkText('t', 0, 0)).toThrow(SreInvalidInputError);
    expect(() => chunkText('t', 10, 10)).toThrow(SreInvalidInputError);
    expect(() => chunkText('t', 10, -1)).toThrow(SreInvalidInputError);
  });
});

import { cycles, importGraph, tsFiles } from './cycles.js';

describe('import cycles', () => {
  it('finds a cycle of three and a self-import, and nothing in a tree', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
      ['f', ['d']],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c'], ['e']]);
    expect(
      cycles(
        new Map([
          ['x', ['y']],
          ['y', []],
        ]),
      ),
    ).toEqual([]);
  });

  it.each(['core', 'sim', 'adapters'])('finds none among the files of %s', (dir) => {
    const found = cycles(importGraph(tsFiles(dir)));
    expect(found).toEqual([]);
  });
});

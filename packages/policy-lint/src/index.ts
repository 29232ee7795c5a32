export * from './finding.ts';
export * from './breadth.ts';
export * from './overlap.ts';
export * from './resolvers.ts';
export * from './lint.ts';

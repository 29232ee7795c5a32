export * from './rule-for.ts';
export * from './advise.ts';
export * from './render.ts';

export { createMemoryStore } from '../../src/store/memory.js';
export type { MemoryStore } from '../../src/store/memory.js';

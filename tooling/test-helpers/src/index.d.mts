/** mulberry32: a seeded PRNG returning numbers in [0, 1); the same seed gives the same sequence. */
export declare function prng(seed: number): () => number

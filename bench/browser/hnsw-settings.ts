/**
 * The HNSW settings every library of the recall section is built and searched with (seed 004's),
 * shared by the page (recall-section.ts) and its workers (recall.worker.ts): the worker module
 * answers messages as soon as it loads, so the page cannot import values from it.
 */
export const M = 16
export const EF_CONSTRUCTION = 200
/** The efSearch of every library's main pass. */
export const EF_SEARCH = 100
/**
 * The efSearch values the HNSW libraries are timed at after their main pass, so each can be
 * compared with another at the same recall rather than the same setting: at 100k, tiermem's
 * graph finds more of the exact top 10 at each efSearch than hnswlib-wasm's. EF_SEARCH is in it
 * again: the passes after the first run faster in every library (its tail has the first
 * queries' slowness), so points are only compared within the sweep.
 */
export const EF_SWEEP = [40, 60, 80, 90, 100, 150, 200, 400]

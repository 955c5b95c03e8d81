/**
 * Deflates payloads where the platform can do it off the engine's thread (the browser's cold
 * store has compression workers): a backup's record files are deflated there, beside the
 * engine's reads, instead of between them. Each result is raw deflate, or the payload itself
 * where deflating saved too little (`deflated: false`). The payloads' buffers may be handed
 * over (transferred): the caller must not use them after.
 */
export type Deflater = (payloads: Uint8Array[], level: number) => Promise<Array<{ payload: Uint8Array; deflated: boolean }>>

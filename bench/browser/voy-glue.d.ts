// voy-search's wasm-bindgen glue, loaded without its `import * as wasm from '.wasm'` entry (which
// needs a bundler plugin): the bench instantiates the wasm itself and hands it over.
declare module 'voy-search/voy_search_bg.js' {
  export * from 'voy-search'
  export function __wbg_set_wasm(exports: WebAssembly.Exports): void
}

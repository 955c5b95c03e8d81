/**
 * The rules of the house (docs/architecture.md): what may import what. `npm test` fails on any
 * cycle and on any import that points up the layer picture
 *   page client → wire → host → engine (src/core) ← stores
 * Type-only imports are erased at build time; the few allowed across a line say why.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules that import each other cannot be read, tested or split one at a time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      comment: 'The engine is platform-agnostic and owns the store contract: it imports nothing of ours outside src/core.',
      from: { path: '^src/core/' },
      to: { path: '^(src/(?!core/)|worker/|test/|bench/|demo/|e2e/)' },
    },
    {
      name: 'no-platform-modules-in-core',
      severity: 'error',
      comment: 'No Node built-ins in the engine: it runs in browsers, workers, Durable Objects and Deno.',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'stores-sit-on-core',
      severity: 'error',
      comment: 'A store implements the contract in src/core/store; it knows nothing of hosts, clients or the wire.',
      from: { path: '^src/stores/' },
      to: { path: '^(src/(client|hosts|wire)/|worker/)' },
    },
    {
      name: 'wire-is-shared-data',
      severity: 'error',
      comment: 'The protocol is imported by both sides and imports neither (store option types are data).',
      from: { path: '^src/wire/' },
      to: { path: '^(src/(client|hosts)/|worker/)' },
    },
    {
      name: 'client-talks-through-the-wire',
      severity: 'error',
      comment: 'The page client knows the host only through the protocol in src/wire, and never runs store code.',
      from: { path: '^src/client/' },
      to: { path: '^src/hosts/' },
    },
    {
      name: 'page-side-takes-only-types-from-stores',
      severity: 'error',
      comment: 'Store options (OPFS tuning) are data the page passes on; no store code runs in the wire or the client.',
      from: { path: '^src/(wire|client)/' },
      to: { path: '^src/stores/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'hosts-never-reach-the-page',
      severity: 'error',
      from: { path: '^src/hosts/' },
      to: { path: '^(src/client/|worker/)' },
    },
    {
      name: 'edge-runs-only-portable-code',
      severity: 'error',
      comment: 'The edge variants run in workerd and Deno: the engine and the portable compressed-store wrapper, never browser stores, hosts or the page client.',
      from: { path: '^src/edge/' },
      to: { path: '^(src/(client|hosts|wire|embeddings)/|src/stores/(?!compressed-store\\.ts$)|worker/)' },
    },
    {
      name: 'only-the-edge-entries-import-the-edge',
      severity: 'error',
      comment: 'The browser package never pulls in edge code (cloudflare:workers would not even load there).',
      from: { path: '^(src/(?!edge/)|worker/)' },
      to: { path: '^src/edge/' },
    },
    {
      name: 'library-never-imports-its-tests-or-tools',
      severity: 'error',
      from: { path: '^(src|worker)/' },
      to: { path: '^(test|bench|demo|e2e|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}

// A stranger's Worker: tiermem from the installed tarball, bundled as wrangler bundles it.
import { createHandler, TiermemObject } from 'tiermem/edge/cloudflare'

export { TiermemObject }
export default createHandler()

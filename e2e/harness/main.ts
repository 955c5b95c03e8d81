// A bare page for e2e tests of the library itself: tiermem on window, nothing else.
import * as tiermem from '../../src/index.ts'

declare global {
  interface Window {
    tiermem: typeof tiermem
  }
}
window.tiermem = tiermem
document.getElementById('status')!.textContent = 'ready'

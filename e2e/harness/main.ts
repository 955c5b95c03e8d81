// A bare page for e2e tests of the library as users get it (the built package, dist/): tiermem on window, nothing else.
import * as tiermem from 'tiermem'

declare global {
  interface Window {
    tiermem: typeof tiermem
  }
}
window.tiermem = tiermem
document.getElementById('status')!.textContent = 'ready'

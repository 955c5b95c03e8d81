import type { RemoteMemory } from 'tiermem'
import { byId, bytes } from './format.ts'

/**
 * Download backup / Restore backup: the memory's copy outside this browser profile (which the
 * browser may evict). The backup streams out of the worker into a Blob the page downloads; a
 * chosen file goes back in and is checked whole before anything is written.
 */
export function setUpBackups(mem: RemoteMemory, say: (text: string) => void, refresh: () => Promise<void>): void {
  const progress = byId<HTMLProgressElement>('backup-progress')
  const download = byId<HTMLButtonElement>('backup-download')
  const restore = byId<HTMLButtonElement>('backup-restore')
  const file = byId<HTMLInputElement>('backup-file')
  const busy = (on: boolean) => {
    download.disabled = on
    restore.disabled = on
    progress.hidden = !on
    progress.value = 0
  }
  const show = (done: number, total: number) => (progress.value = total === 0 ? 1 : done / total)

  download.addEventListener('click', async () => {
    busy(true)
    try {
      const blob = await new Response(await mem.backup({ onProgress: show })).blob()
      const link = document.createElement('a')
      link.href = URL.createObjectURL(blob)
      link.download = `tiermem-playground-${new Date().toISOString().replace(/[:.]/g, '-')}.zip`
      link.click()
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000)
      say(`backup downloaded (${bytes(blob.size)})`)
    } catch (error) {
      say(`backup failed: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      busy(false)
    }
  })
  restore.addEventListener('click', () => file.click())
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0]
    if (!chosen) return
    busy(true)
    try {
      const result = await mem.restoreBackup(chosen, { onProgress: show })
      say(`restored ${result.restored} entries from ${chosen.name}${result.expired ? ` (${result.expired} had expired and were left out)` : ''}`)
    } catch (error) {
      say(`restore refused, nothing changed: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      file.value = ''
      busy(false)
      await refresh()
    }
  })
}

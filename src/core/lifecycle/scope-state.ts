/** Engine-side state of an open task scope. */
export interface ScopeState {
  readonly taskId: string
  readonly critical: boolean
  readonly quotaBytes: number
  readonly controller: AbortController
  /** Store keys of the entries this scope holds a reference on, with their sizes. */
  readonly owned: Map<string, number>
  usedBytes: number
  /** close() was called: puts issued from now on are refused. */
  closeRequested: boolean
  /** The close has run on the lane: puts planned from now on are refused. */
  closed: boolean
}

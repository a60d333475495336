/**
 * The task list: one `<li>` per task, kept by id, so a remote change
 * updates the fields it touched and never steals focus or a draft the
 * local user is typing.
 *
 * @module
 */
import { type Board, MAX_TAG, MAX_TITLE, type Task } from './board.js'
import type { Peer, Presence } from './presence.js'

/** `document.createElement` with attributes, properties and children. */
export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { attrs?: Record<string, string> } = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] => {
  const { attrs, ...rest } = props
  const el = Object.assign(document.createElement(tag), rest)
  for (const [k, v] of Object.entries(attrs ?? {})) el.setAttribute(k, v)
  el.append(...children)
  return el
}

interface Row {
  li: HTMLLIElement
  done: HTMLInputElement
  title: HTMLInputElement
  votes: HTMLButtonElement
  count: HTMLSpanElement
  tags: HTMLUListElement
  tagInput: HTMLInputElement
  editing: HTMLSpanElement
  up: HTMLButtonElement
  down: HTMLButtonElement
  remove: HTMLButtonElement
  /** What the row shows, to skip untouched rows. */
  shown: string
}

const label = (t: Task): string => t.title === '' ? 'untitled task' : t.title

/** Renders `board.tasks()` into `list` and turns its events into board operations. */
export class TaskList {
  private readonly rows = new Map<string, Row>()

  constructor (
    private readonly list: HTMLOListElement,
    private readonly board: Board,
    private readonly presence: Presence
  ) {
    // which task the local user is editing, for the others to see
    list.addEventListener('focusin', e => {
      presence.setEditing((e.target as Element).closest<HTMLElement>('.task')?.dataset.id ?? null)
    })
    list.addEventListener('focusout', e => {
      const next = (e as FocusEvent).relatedTarget as Element | null
      if (next === null || !list.contains(next)) presence.setEditing(null)
    })
  }

  /**
   * Brings the DOM in line with the doc and the others' presence (`online`
   * false: what others edit is not known now, so it is not shown).
   */
  render (online: boolean): void {
    const tasks = this.board.tasks()
    const editors = new Map<string, Peer[]>()
    for (const p of online ? this.presence.peers() : []) {
      if (p.editing !== null) editors.set(p.editing, [...(editors.get(p.editing) ?? []), p])
    }
    const seen = new Set<string>()
    let prev: Element | null = null
    tasks.forEach((task, i) => {
      seen.add(task.id)
      const row = this.rows.get(task.id) ?? this.create(task.id)
      this.update(row, task, i === 0, i === tasks.length - 1, editors.get(task.id) ?? [])
      // keep DOM order = board order, moving only what is out of place
      const want = prev === null ? this.list.firstElementChild : prev.nextElementSibling
      if (want !== row.li) this.list.insertBefore(row.li, want)
      prev = row.li
    })
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) { row.li.remove(); this.rows.delete(id) }
    }
  }

  private create (id: string): Row {
    const b = this.board
    const done = h('input', { type: 'checkbox' })
    done.addEventListener('change', () => b.setDone(id, done.checked))
    const title = h('input', { className: 'title', maxLength: MAX_TITLE, autocomplete: 'off', spellcheck: false })
    title.addEventListener('change', () => b.rename(id, title.value))
    title.addEventListener('keydown', e => {
      if (e.key === 'Enter') title.blur()
      if (e.key === 'Escape') { title.value = b.task(id)?.title ?? ''; title.blur() }
    })
    const count = h('span', { className: 'count' })
    const votes = h('button', { type: 'button', className: 'vote' }, '▲ ', count)
    votes.addEventListener('click', () => b.vote(id))
    const up = h('button', { type: 'button', className: 'up', textContent: '↑' })
    up.addEventListener('click', () => b.move(id, -1))
    const down = h('button', { type: 'button', className: 'down', textContent: '↓' })
    down.addEventListener('click', () => b.move(id, 1))
    const remove = h('button', { type: 'button', className: 'delete', textContent: '✕' })
    remove.addEventListener('click', () => b.remove(id))
    const tags = h('ul', { className: 'tags' })
    tags.addEventListener('click', e => {
      const tag = (e.target as Element).closest<HTMLElement>('[data-tag]')?.dataset.tag
      if (tag !== undefined) b.removeTag(id, tag)
    })
    const tagInput = h('input', { placeholder: '+ tag', maxLength: MAX_TAG, autocomplete: 'off', spellcheck: false })
    const tagForm = h('form', { className: 'tag-form' }, tagInput)
    tagForm.addEventListener('submit', e => {
      e.preventDefault()
      b.addTag(id, tagInput.value)
      tagInput.value = ''
    })
    const editing = h('span', { className: 'editing-list' })
    const li = h('li', { className: 'task', attrs: { 'data-id': id } },
      done, title,
      h('span', { className: 'actions' }, votes, up, down, remove),
      h('span', { className: 'meta' }, tags, tagForm, editing)
    )
    const row: Row = { li, done, title, votes, count, tags, tagInput, editing, up, down, remove, shown: '' }
    this.rows.set(id, row)
    return row
  }

  private update (row: Row, t: Task, first: boolean, last: boolean, editors: Peer[]): void {
    const shown = JSON.stringify([t, first, last, editors.map(p => [p.clientID, p.name, p.color])])
    if (shown === row.shown) return
    row.shown = shown
    const name = label(t)
    row.li.dataset.done = String(t.done)
    row.done.checked = t.done
    row.done.setAttribute('aria-label', `Done: ${name}`)
    // a title being typed here stays as typed; it is sent on Enter or blur
    if (document.activeElement !== row.title) row.title.value = t.title
    row.title.placeholder = 'Untitled task'
    row.title.setAttribute('aria-label', `Title of task ${name}`)
    row.count.textContent = String(t.votes)
    row.votes.setAttribute('aria-label', `Vote for ${name} (${t.votes} ${t.votes === 1 ? 'vote' : 'votes'})`)
    row.up.disabled = first
    row.up.setAttribute('aria-label', `Move ${name} up`)
    row.down.disabled = last
    row.down.setAttribute('aria-label', `Move ${name} down`)
    row.remove.setAttribute('aria-label', `Delete ${name}`)
    row.tagInput.setAttribute('aria-label', `Add a tag to ${name}`)
    row.tags.replaceChildren(...t.tags.map(tag => h('li', { className: 'tag' },
      h('span', { textContent: tag }),
      h('button', { type: 'button', textContent: '×', attrs: { 'data-tag': tag, 'aria-label': `Remove tag ${tag}` } })
    )))
    row.editing.replaceChildren(...editors.map(p => h('span', {
      className: 'editing', textContent: `${p.name} is editing`, attrs: { style: `background:${p.color}` }
    })))
    row.li.style.borderLeftColor = editors[0]?.color ?? 'transparent'
  }
}

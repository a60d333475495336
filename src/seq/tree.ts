/**
 * The document order of a sequence: a doubly linked list of pieces (runs or
 * parts of runs) indexed by an order-statistic B-tree whose nodes sum the
 * visible length and the piece count of their subtree. Lookup by visible
 * index, visible index of a piece and the order of two pieces are
 * O(log n); inserting a piece next to a known one is O(log n) amortised.
 *
 * @module
 */
import type { JsonValue } from '../codec/value.js'
import type { SeqId } from './sequence-api.js'

const LEAF_MAX = 64
const INNER_MAX = 32

/** Part of a run: elements `s … s + len - 1` of replica `r`, contiguous in document order. */
export class Piece {
  /** Visible length: `len`, or 0 when deleted. */
  vis: number
  prev: Piece | null = null
  next: Piece | null = null
  leaf: Leaf | null = null
  /** Scratch mark for scans (integration, runsSince). */
  mark = 0
  /** Appends since the text content was last flattened. */
  appends = 0
  constructor (
    readonly r: number,
    public s: number,
    public len: number,
    /** Left origin of element `s`; element `s + k` has left origin `(r, s + k - 1)`. */
    public left: SeqId | null,
    /** Right origin of every element of the piece. */
    public right: SeqId | null,
    /** `null` when deleted (no content is kept). */
    public content: string | JsonValue[] | null
  ) {
    this.vis = content === null ? 0 : len
  }
}

export class Leaf {
  items: Piece[] = []
  vis = 0
  cnt = 0
  parent: Inner | null = null
}

export class Inner {
  kids: Array<Inner | Leaf> = []
  vis = 0
  cnt = 0
  parent: Inner | null = null
}

type TreeNode = Inner | Leaf

export class PieceTree {
  root: TreeNode = new Leaf()
  first: Piece | null = null
  last: Piece | null = null

  get vis (): number { return this.root.vis }
  get count (): number { return this.root.cnt }

  /** The piece holding visible element `index` and the offset in it; `null` when `index >= vis`. */
  findVisible (index: number): { piece: Piece, offset: number } | null {
    if (index < 0 || index >= this.root.vis) return null
    let node: TreeNode = this.root
    while (node instanceof Inner) {
      const kids: TreeNode[] = node.kids
      let i = 0
      for (; i < kids.length - 1; i++) {
        const v = kids[i].vis
        if (index < v) break
        index -= v
      }
      node = kids[i]
    }
    const items = node.items
    for (let i = 0; i < items.length; i++) {
      const v = items[i].vis
      if (index < v) return { piece: items[i], offset: index }
      index -= v
    }
    /* c8 ignore next */
    throw new Error('seq tree: visible sums are inconsistent')
  }

  /** Visible elements before `piece`. */
  visibleBefore (piece: Piece): number {
    const leaf = piece.leaf!
    let n = 0
    for (const p of leaf.items) { if (p === piece) break; n += p.vis }
    let child: TreeNode = leaf
    let parent = leaf.parent
    while (parent !== null) {
      for (const k of parent.kids) { if (k === child) break; n += k.vis }
      child = parent
      parent = parent.parent
    }
    return n
  }

  /** Pieces before `piece` (its rank in document order). */
  orderOf (piece: Piece): number {
    const leaf = piece.leaf!
    let n = leaf.items.indexOf(piece)
    let child: TreeNode = leaf
    let parent = leaf.parent
    while (parent !== null) {
      for (const k of parent.kids) { if (k === child) break; n += k.cnt }
      child = parent
      parent = parent.parent
    }
    return n
  }

  /** Adds `delta` to the visible length of `piece` and its ancestors. */
  addVis (piece: Piece, delta: number): void {
    piece.vis += delta
    let node: TreeNode | null = piece.leaf
    while (node !== null) { node.vis += delta; node = node.parent }
  }

  /** Inserts `piece` right after `after` (`null`: at the start). */
  insertAfter (after: Piece | null, piece: Piece): void {
    let leaf: Leaf
    let pos: number
    if (after === null) {
      let node: TreeNode = this.root
      while (node instanceof Inner) node = node.kids[0]
      leaf = node
      pos = 0
      piece.next = this.first
      if (this.first !== null) this.first.prev = piece
      else this.last = piece
      this.first = piece
    } else {
      leaf = after.leaf!
      pos = leaf.items.indexOf(after) + 1
      piece.prev = after
      piece.next = after.next
      if (after.next !== null) after.next.prev = piece
      else this.last = piece
      after.next = piece
    }
    leaf.items.splice(pos, 0, piece)
    piece.leaf = leaf
    let node: TreeNode | null = leaf
    while (node !== null) { node.vis += piece.vis; node.cnt++; node = node.parent }
    if (leaf.items.length > LEAF_MAX) this.splitLeaf(leaf)
  }

  /** Removes `piece` (whose visible length must be 0 or already accounted for by the caller). */
  remove (piece: Piece): void {
    const leaf = piece.leaf!
    leaf.items.splice(leaf.items.indexOf(piece), 1)
    let node: TreeNode | null = leaf
    while (node !== null) { node.vis -= piece.vis; node.cnt--; node = node.parent }
    if (piece.prev !== null) piece.prev.next = piece.next
    else this.first = piece.next
    if (piece.next !== null) piece.next.prev = piece.prev
    else this.last = piece.prev
    piece.prev = piece.next = null
    piece.leaf = null
    if (leaf.items.length === 0) this.dropEmpty(leaf)
  }

  private dropEmpty (node: TreeNode): void {
    let child = node
    let parent = node.parent
    while (parent !== null && child.cnt === 0) {
      parent.kids.splice(parent.kids.indexOf(child), 1)
      if (parent.kids.length > 0) return
      child = parent
      parent = parent.parent
    }
    if (parent === null && child.cnt === 0) this.root = new Leaf()
  }

  private splitLeaf (leaf: Leaf): void {
    const right = new Leaf()
    right.items = leaf.items.splice(leaf.items.length >> 1)
    for (const p of right.items) { p.leaf = right; right.vis += p.vis }
    right.cnt = right.items.length
    leaf.vis -= right.vis
    leaf.cnt -= right.cnt
    this.addSibling(leaf, right)
  }

  private addSibling (node: TreeNode, sibling: TreeNode): void {
    let parent = node.parent
    if (parent === null) {
      parent = new Inner()
      parent.kids.push(node)
      // the new root counts both halves; an existing parent counts them already
      parent.vis = node.vis + sibling.vis
      parent.cnt = node.cnt + sibling.cnt
      node.parent = parent
      this.root = parent
    }
    parent.kids.splice(parent.kids.indexOf(node) + 1, 0, sibling)
    sibling.parent = parent
    if (parent.kids.length > INNER_MAX) {
      const right = new Inner()
      right.kids = parent.kids.splice(parent.kids.length >> 1)
      for (const k of right.kids) { k.parent = right; right.vis += k.vis; right.cnt += k.cnt }
      parent.vis -= right.vis
      parent.cnt -= right.cnt
      this.addSibling(parent, right)
    }
  }
}

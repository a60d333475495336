/**
 * The registry of container modules, by {@link ContainerType}: the Doc and
 * the update codec dispatch through it. A new type is one module plus one
 * line here (Text = 4 and List = 5 are reserved for the sequence types).
 *
 * @module
 */
import type { ContainerType } from '../containers.js'
import { counterModule } from './counter.js'
import { mapModule } from './map.js'
import type { AnyContainerModule } from './module.js'
import { registerModule } from './register.js'
import { setModule } from './set.js'

export type { AnyContainerModule, ContainerChange, ContainerEnv, ContainerModule, FormatVersion, HasDot, IntegrateCtx, Newer } from './module.js'

/** Modules by type number; a hole is a type this build does not know. */
const modules: Array<AnyContainerModule | undefined> = /* @__PURE__ */ (() => {
  const out: Array<AnyContainerModule | undefined> = []
  for (const m of [mapModule, counterModule, setModule, registerModule] as AnyContainerModule[]) out[m.type] = m
  return out
})()

/** The module of `type`, or undefined when this build does not know it. */
export const findModule = (type: number): AnyContainerModule | undefined => modules[type]

/** The module of a type this build knows (a container's own type). */
export const moduleOf = (type: ContainerType): AnyContainerModule => modules[type]!

/** The type numbers this build reads and writes, and their names, for error messages: "0 (map), 1 (counter), …". */
export const knownTypes = (): string => {
  const out: string[] = []
  for (let t = 0; t < modules.length; t++) if (modules[t] !== undefined) out.push(`${t} (${modules[t]!.name})`)
  return out.join(', ')
}


/**
 * @internal tests only: registers `m` (a type not built in) until the
 * returned function is called.
 */
export const registerModuleForTest = (m: AnyContainerModule): (() => void) => {
  if (modules[m.type] !== undefined) throw new Error(`container type ${m.type} is already registered`)
  modules[m.type] = m
  return () => { modules[m.type] = undefined }
}

export { Cascade, type CascadeDeps, type CascadeMedia, type CascadeSettings, type ViewerPlacement } from './cascade.js';
export {
  NodeRegistry,
  type LivenessView,
  type NodeRecord,
  type RegistryOptions,
  type RegistryReadPath,
  type StreamHolding,
} from './node-registry.js';
export { chooseUpstream, chooseViewerNode, regionTier, type Locality } from './placement.js';

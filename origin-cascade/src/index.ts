export { Cascade, type CascadeDeps, type CascadeSettings, type ViewerPlacement } from './cascade.js';
export { NodeRegistry, type NodeRecord, type StreamHolding } from './node-registry.js';
export { chooseUpstream, chooseViewerNode, regionTier, type Locality } from './placement.js';

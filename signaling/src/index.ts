export { startNode, type OnAirNode } from './node.js';
